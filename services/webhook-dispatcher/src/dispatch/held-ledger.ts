import type { Logger } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';
import { settle } from './held-message.ts';
import { insertDeliveries } from './store.ts';
import { distinctEvents, type HeldWork } from './work.ts';

/** Deliveries held straight from the stream in one process (each keeps its message unacked), and their bodies' size. */
export const MAX_HELD = 10_000;
export const MAX_HELD_BYTES = 64 * 1024 * 1024;

export type HeldLedger = ReturnType<typeof createHeldLedger>;

/**
 * The held-message ledger: how many deliveries (and body bytes) this process holds unrecorded, and the
 * write-down of those that will not be sent from memory (circuit open, waited too long, shutdown) as pending rows.
 */
export function createHeldLedger(o: {
  db: Kysely<DispatcherDB>;
  logger: Logger;
  /** Due deliveries of this endpoint now wait in Postgres. */
  markBacklog: (endpointId: string) => void;
  onWriteFailed: () => void;
}) {
  let count = 0;
  let bytes = 0;
  const release = (items: readonly HeldWork[]) => {
    for (const w of items) bytes -= w.body.length;
    count -= items.length;
  };
  return {
    get count() {
      return count;
    },
    /** Whether `extra` more deliveries of `extraBytes` more body fit beside what is held. */
    hasRoom: (extra: number, extraBytes: number) => count + extra < MAX_HELD && bytes + extraBytes <= MAX_HELD_BYTES,
    hold(w: HeldWork) {
      count++;
      bytes += w.body.length;
    },
    release,
    /** Writes held deliveries down as pending rows; their messages are acked (or given back when that fails). */
    async demote(items: HeldWork[]): Promise<void> {
      if (items.length === 0) return;
      for (const w of items) o.markBacklog(w.endpoint_id);
      let ok = true;
      try {
        await insertDeliveries(
          o.db,
          distinctEvents(items),
          items.map((w) => w.delivery),
        );
      } catch (err) {
        ok = false;
        o.onWriteFailed();
        o.logger.warn('writing held deliveries down failed; their messages are given back to the stream', { err });
      }
      release(items);
      for (const w of items) settle(w.msg, ok);
    },
  };
}
