import type { StoredEvent } from '@pep/contracts';
import type { PlatformTables } from '@pep/db';
import type { Insertable } from 'kysely';
import type { Logger } from '@pep/runtime';
import { AckPolicy, type ConsumerInfo, type ConsumerMessages, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { decodeEvent } from './codec.ts';
import { upsertConsumer } from './consumers.ts';
import { trackDurable } from './consumer-lag.ts';
import { tracedHandle } from './event-tracing.ts';
import type { EventBus } from './connection.ts';
import { PoisonMessageError } from './errors.ts';
import { resumeOnReconnect } from './stall-watch.ts';
import { registerWorkerHandler } from './worker-retry.ts';

/** A message given up on, as the `dead_letters` table stores it (the row type is the table's own). */
export type DeadLetter = Omit<Insertable<PlatformTables['dead_letters']>, 'id' | 'created_at' | 'retried_at' | 'discarded_at'>;

export interface DeadLetterSink {
  record(letter: DeadLetter): Promise<void>;
}

export interface WorkerOptions {
  bus: EventBus;
  durable: string;
  filterSubject: string;
  /** Messages handled at once by this process. */
  concurrency?: number;
  ackWaitMs?: number;
  /** Deliveries before a message is terminated and recorded as poison. */
  maxDeliver?: number;
  /** Delay before redelivery after a failure, by attempt (the last value repeats). */
  backoffMs?: number[];
  deliverPolicy?: 'all' | 'new';
  handle: (event: StoredEvent, msg: JsMsg) => Promise<void>;
  deadLetters: DeadLetterSink;
  logger: Logger;
}

export interface Worker {
  stop(): Promise<void>;
  info(): Promise<ConsumerInfo>;
}

/**
 * A durable pull consumer with bounded concurrency and explicit acks. A failed message is nak'ed with
 * backoff; after `maxDeliver` attempts (or at once, when it cannot be decoded) it is terminated and kept in
 * the dead-letter sink with its error so an operator can list and retry it. N processes sharing the durable
 * share the work.
 */
export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const { bus, durable, logger } = opts;
  const concurrency = opts.concurrency ?? 16;
  const maxDeliver = opts.maxDeliver ?? 10;
  const backoff = opts.backoffMs ?? [1000, 5000, 15_000, 60_000];
  const ackWait = opts.ackWaitMs ?? 30_000;
  const cfg = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: opts.filterSubject,
    deliver_policy: opts.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ack_wait: nanos(ackWait),
    max_deliver: maxDeliver + 1,
    max_ack_pending: Math.max(concurrency * 64, 1000),
  };
  await upsertConsumer(bus, cfg, { ack_wait: cfg.ack_wait, max_deliver: cfg.max_deliver, max_ack_pending: cfg.max_ack_pending }, logger);
  const consumer = await bus.js.consumers.get(bus.stream, durable);
  // So an operator can retry this worker's dead letters (`ops dead-letters retry`).
  const unregister = registerWorkerHandler(bus, durable, opts.handle);
  trackDurable(bus, durable);
  let inFlight = 0;
  let stopped = false;
  const idle: (() => void)[] = [];
  const slots: (() => void)[] = [];

  const acquire = () =>
    inFlight < concurrency
      ? Promise.resolve()
      : new Promise<void>((r) => {
          slots.push(r);
        });

  const release = () => {
    inFlight--;
    const next = slots.shift();
    if (next) next();
    if (inFlight === 0) for (const r of idle.splice(0)) r();
  };

  const poison = async (msg: JsMsg, error: unknown, event?: StoredEvent) => {
    const payload = new TextDecoder().decode(msg.data);
    await opts.deadLetters.record({
      consumer: durable,
      stream_seq: msg.seq,
      subject: msg.subject,
      event_id: event?.id ?? null,
      event_type: event?.type ?? null,
      payload,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      attempts: msg.info.deliveryCount,
    });
    msg.term(error instanceof Error ? error.message.slice(0, 200) : 'poison');
    logger.warn('message terminated as poison', { consumer: durable, seq: msg.seq, err: error });
  };

  const process1 = async (msg: JsMsg) => {
    let event: StoredEvent | undefined;
    try {
      event = decodeEvent(msg);
      await tracedHandle(durable, event, (e) => opts.handle(e, msg));
      msg.ack();
    } catch (err) {
      try {
        if (err instanceof PoisonMessageError || msg.info.deliveryCount >= maxDeliver) {
          await poison(msg, err, event);
        } else {
          const delay = backoff[Math.min(msg.info.deliveryCount - 1, backoff.length - 1)] ?? 1000;
          msg.nak(delay);
          logger.warn('message failed, will retry', { consumer: durable, seq: msg.seq, attempt: msg.info.deliveryCount, delay, err });
        }
      } catch (e) {
        logger.error('could not settle failed message', { consumer: durable, seq: msg.seq, err: e });
        msg.nak(5000);
      }
    }
  };

  let messages: ConsumerMessages | undefined;
  const stopResume = resumeOnReconnect({ bus, durable, messages: () => messages, logger });
  const loop = (async () => {
    while (!stopped) {
      try {
        messages = await consumer.consume({ max_messages: Math.max(concurrency * 2, 32) });
        for await (const msg of messages) {
          await acquire();
          inFlight++;
          void process1(msg).finally(release);
          if (stopped) break;
        }
      } catch (err) {
        if (stopped) break;
        logger.warn('consume loop failed, restarting', { consumer: durable, err });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      stopResume();
      unregister();
      messages?.stop();
      await loop.catch((err: unknown) => logger.warn('consume loop ended with an error', { consumer: durable, err }));
      if (inFlight > 0) await new Promise<void>((r) => idle.push(r));
    },
    info: () => consumer.info(),
  };
}
