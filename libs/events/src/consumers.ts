import type { Logger } from '@pep/runtime';
import { type ConsumerConfig, type ConsumerUpdateConfig, JetStreamApiError } from '@nats-io/jetstream';
import type { EventBus } from './connection.ts';
import { ConsumerSetupError } from './errors.ts';

/** JetStream's "consumer not found" (10014): the one `consumers.info` failure that means "create it". */
const CONSUMER_NOT_FOUND = 10014;

const isNotFound = (err: unknown) => err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND;
const isAlreadyThere = (err: unknown) => /already (in use|exists)/i.test(err instanceof Error ? err.message : String(err));

/**
 * Creates a durable consumer, or brings the settings a restart may change (`update`) to the configured values.
 * Only a consumer that does not exist is created; any other failure to read it (the broker away, no permission)
 * is a `ConsumerSetupError` with its cause. Another process creating it first is fine; an update the broker
 * refuses leaves the consumer as it is (logged), since it still delivers.
 */
export async function upsertConsumer(
  bus: EventBus,
  cfg: Partial<ConsumerConfig> & { durable_name: string },
  update: Partial<ConsumerUpdateConfig>,
  logger?: Logger,
): Promise<void> {
  const durable = cfg.durable_name;
  try {
    await bus.jsm.consumers.info(bus.stream, durable);
  } catch (err) {
    if (!isNotFound(err)) throw new ConsumerSetupError(durable, 'reading the consumer failed', { cause: err });
    try {
      await bus.jsm.consumers.add(bus.stream, cfg);
    } catch (e) {
      if (!isAlreadyThere(e)) throw new ConsumerSetupError(durable, 'creating the consumer failed', { cause: e });
    }
    return;
  }
  try {
    await bus.jsm.consumers.update(bus.stream, durable, update);
  } catch (err) {
    logger?.warn('consumer settings not updated; it keeps its current ones', { consumer: durable, err });
  }
}
