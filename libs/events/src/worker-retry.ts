import type { StoredEvent } from '@pep/contracts';
import type { PlatformTables } from '@pep/db';
import type { Logger } from '@pep/runtime';
import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { Selectable } from 'kysely';
import { decodeEvent } from './codec.ts';
import type { EventBus } from './connection.ts';
import { DeadLetterRetryError } from './projection-errors.ts';

/** Claiming a letter for a retry (settles it), and opening it again when the retry fails. */
export interface RetryClaims {
  claim(id: number): Promise<Selectable<PlatformTables['dead_letters']> | undefined>;
  reopen(id: number, error: string): Promise<void>;
}

type Handle = (event: StoredEvent, msg: JsMsg) => Promise<void>;

/** The handlers of this process's durable workers, by bus and durable name (any replica can retry a letter). */
const handlers = new WeakMap<EventBus, Map<string, Handle>>();

export function registerWorkerHandler(bus: EventBus, durable: string, handle: Handle): () => void {
  let byDurable = handlers.get(bus);
  if (!byDurable) {
    byDurable = new Map();
    handlers.set(bus, byDurable);
  }
  byDurable.set(durable, handle);
  return () => byDurable.delete(durable);
}

export function hasWorker(bus: EventBus, durable: string): boolean {
  return handlers.get(bus)?.has(durable) ?? false;
}

/**
 * Processes a worker's dead-lettered message again, exactly once: the letter is claimed (settled) in one statement
 * first, so a second retry of it is refused; the message is read again from the stream at its sequence (as
 * delivered, headers included) and given to the worker's handler. When the handler fails, the letter is open again
 * with the new error. Handlers are idempotent per event (as for any redelivery), which covers a crash mid-retry.
 */
export async function retryWorkerDeadLetter(opts: {
  bus: EventBus;
  deadLetters: RetryClaims;
  logger: Logger;
  id: number;
}): Promise<{ id: number; consumer: string; seq: number; event_id: string }> {
  const { bus, id } = opts;
  const letter = await opts.deadLetters.claim(id);
  if (!letter) throw new DeadLetterRetryError(`dead letter ${id} does not exist or was already settled`);
  const handle = handlers.get(bus)?.get(letter.consumer);
  const fail = async (message: string, cause?: unknown): Promise<never> => {
    await opts.deadLetters.reopen(id, message);
    throw new DeadLetterRetryError(`dead letter ${id}: ${message}`, { cause });
  };
  if (!handle) return fail(`no worker ${letter.consumer} runs in this service`);
  const seq = Number(letter.stream_seq);
  let msg: JsMsg | null;
  try {
    const reader = await bus.js.consumers.get(bus.stream, {
      filter_subjects: letter.subject,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: seq,
    });
    msg = await reader.next({ expires: 5000 });
    await reader.delete().catch((err: unknown) => opts.logger.warn('retry reader not deleted (it expires)', { id, err }));
  } catch (err) {
    return fail(`stream message ${seq} could not be read: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (!msg || msg.seq !== seq) return fail(`stream message ${seq} is no longer in the stream (replay the event instead)`);
  let event: StoredEvent;
  try {
    event = decodeEvent(msg);
    await handle(event, msg);
  } catch (err) {
    return fail(err instanceof Error ? `${err.name}: ${err.message}` : String(err), err);
  }
  opts.logger.info('worker dead letter retried', { id, consumer: letter.consumer, seq, event_id: event.id });
  return { id, consumer: letter.consumer, seq, event_id: event.id };
}
