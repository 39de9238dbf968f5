import type { StoredEvent } from '@pep/contracts';
import type { PlatformTables } from '@pep/db';
import type { Logger } from '@pep/runtime';
import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import { type Kysely, sql, type Transaction } from 'kysely';
import { decodeEvent } from './codec.ts';
import type { EventBus } from './connection.ts';
import { PoisonMessageError } from './errors.ts';
import type { DeadLetterSink } from './worker.ts';

export interface Projection<DB> {
  /** Checkpoint name; one per read model. */
  name: string;
  /** Subject filter (single filter: nats-server 2.9 has no multi-filter consumers). */
  filterSubject: string;
  /** Applies events in order inside the caller's transaction. Unknown types must be ignored. */
  apply(trx: Transaction<DB>, events: StoredEvent[]): Promise<void>;
  /** Empties the read model's tables (before a rebuild). */
  reset(trx: Transaction<DB>): Promise<void>;
}

export type RebuildFrom = { from: 'start' } | { from: 'seq'; seq: number } | { from: 'time'; time: string };

export interface ProjectionRunner {
  /** Resolves when the checkpoint has reached `seq` (or the stream's last sequence when omitted). */
  waitFor(seq?: number, timeoutMs?: number): Promise<number>;
  checkpoint(): Promise<number>;
  lag(): Promise<number>;
  rebuild(from: RebuildFrom): Promise<{ restartedAt: number }>;
  stop(): Promise<void>;
}

/**
 * Keeps one read model up to date. It reads the stream with an ordered consumer from the stored checkpoint,
 * and applies each batch and its new checkpoint in ONE transaction that first locks the checkpoint row and
 * skips what it already covers. A crash or a redelivery therefore never applies an event twice or skips
 * one, and several replicas can run the same projection safely (the lock serialises them).
 */
export async function startProjection<DB extends PlatformTables>(opts: {
  bus: EventBus;
  db: Kysely<DB>;
  projection: Projection<DB>;
  deadLetters: DeadLetterSink;
  logger: Logger;
  batchSize?: number;
  /** Attempts before a single failing event is dead-lettered and skipped. */
  maxAttempts?: number;
}): Promise<ProjectionRunner> {
  const { bus, projection, logger } = opts;
  const db = opts.db as unknown as Kysely<PlatformTables>;
  const batchSize = opts.batchSize ?? 500;
  const maxAttempts = opts.maxAttempts ?? 5;
  await db
    .insertInto('projection_checkpoints')
    .values({ name: projection.name, seq: 0 })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();

  const readCheckpoint = async () =>
    (await db.selectFrom('projection_checkpoints').select('seq').where('name', '=', projection.name).executeTakeFirstOrThrow()).seq;

  let applied = await readCheckpoint();
  const waiters = new Set<{ seq: number; resolve: (n: number) => void }>();
  const notify = () => {
    for (const w of waiters)
      if (applied >= w.seq) {
        waiters.delete(w);
        w.resolve(applied);
      }
  };

  /** One transaction: lock checkpoint, drop covered events, apply, advance. Returns the new checkpoint. */
  const applyBatch = async (events: StoredEvent[]): Promise<number> =>
    opts.db.transaction().execute(async (trx) => {
      const t = trx as unknown as Transaction<PlatformTables>;
      const row = await t
        .selectFrom('projection_checkpoints')
        .select('seq')
        .where('name', '=', projection.name)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const fresh = events.filter((e) => e.seq > row.seq);
      if (fresh.length === 0) return row.seq;
      await projection.apply(trx, fresh);
      const last = (fresh[fresh.length - 1] as StoredEvent).seq;
      await t
        .updateTable('projection_checkpoints')
        .set({ seq: last, updated_at: sql`now()` })
        .where('name', '=', projection.name)
        .execute();
      return last;
    });

  const applyOneByOne = async (events: StoredEvent[]) => {
    for (const ev of events) {
      for (let attempt = 1; ; attempt++) {
        try {
          applied = Math.max(applied, await applyBatch([ev]));
          break;
        } catch (err) {
          if (attempt >= maxAttempts) {
            await deadLetterAndSkip(ev, err, attempt);
            break;
          }
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5000)));
        }
      }
    }
  };

  const deadLetterAndSkip = async (ev: StoredEvent, err: unknown, attempts: number) => {
    logger.error('projection event dead-lettered', { projection: projection.name, seq: ev.seq, type: ev.type, err });
    await opts.deadLetters.record({
      consumer: `projection:${projection.name}`,
      stream_seq: ev.seq,
      subject: ev.subject_name,
      event_id: ev.id,
      event_type: ev.type,
      payload: JSON.stringify(ev),
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      attempts,
    });
    await db
      .updateTable('projection_checkpoints')
      .set({ seq: ev.seq, updated_at: sql`now()` })
      .where('name', '=', projection.name)
      .where('seq', '<', ev.seq)
      .execute();
    applied = Math.max(applied, ev.seq);
  };

  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let restart = false;
  let lastPending = 0;
  let buffered = 0;

  const run = async () => {
    while (!stopped) {
      restart = false;
      const start = (await readCheckpoint()) + 1;
      applied = start - 1;
      notify();
      try {
        const consumer = await bus.js.consumers.get(bus.stream, {
          filter_subjects: projection.filterSubject,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: start,
        });
        messages = await consumer.consume({ max_messages: batchSize * 2 });
        let batch: StoredEvent[] = [];
        const flush = async () => {
          if (batch.length === 0) return;
          const b = batch;
          batch = [];
          buffered = 0;
          try {
            applied = Math.max(applied, await applyBatch(b));
          } catch (err) {
            logger.warn('projection batch failed, applying one by one', { projection: projection.name, err });
            await applyOneByOne(b);
          }
          notify();
        };
        for await (const m of messages) {
          if (stopped || restart) break;
          try {
            lastPending = m.info.pending;
            batch.push(decodeEvent(m));
            buffered = batch.length;
          } catch (err) {
            if (!(err instanceof PoisonMessageError)) throw err;
            await flush();
            await deadLetterAndSkip(
              Object.assign({ id: '', type: '', seq: m.seq, subject_name: m.subject } as unknown as StoredEvent, {}),
              err,
              1,
            );
            continue;
          }
          if (batch.length >= batchSize || m.info.pending === 0) await flush();
        }
        await flush();
      } catch (err) {
        if (stopped) break;
        logger.warn('projection loop failed, restarting', { projection: projection.name, err });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const loop = run();

  const lastMatchingSeq = async () => {
    const m = await bus.jsm.streams.getMessage(bus.stream, { last_by_subj: projection.filterSubject });
    return m ? m.seq : 0;
  };
  const streamLastSeq = async () => {
    const info = await bus.jsm.streams.info(bus.stream);
    return info.state.last_seq;
  };

  return {
    async waitFor(seq, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const lastMatching = await lastMatchingSeq();
        const target = seq === undefined ? lastMatching : Math.min(seq, lastMatching);
        if (applied >= target) return applied;
        if (Date.now() > deadline)
          throw new Error(`projection ${projection.name} did not reach ${target} in ${timeoutMs} ms (at ${applied})`);
        await new Promise<void>((resolve) => {
          const w = { seq: target, resolve: () => resolve() };
          waiters.add(w);
          setTimeout(() => {
            waiters.delete(w);
            resolve();
          }, 50).unref();
        });
      }
    },
    checkpoint: readCheckpoint,
    async lag() {
      const lastMatching = await lastMatchingSeq();
      return lastMatching > applied ? Math.max(lastPending + buffered, 1) : 0;
    },
    async rebuild(from) {
      let startSeq = 1;
      if (from.from === 'seq') startSeq = Math.max(1, from.seq);
      if (from.from === 'time') {
        const m = await bus.jsm.streams.getMessage(bus.stream, { start_time: new Date(from.time).toISOString() } as never);
        startSeq = m ? m.seq : (await streamLastSeq()) + 1;
      }
      await opts.db.transaction().execute(async (trx) => {
        const t = trx as unknown as Transaction<PlatformTables>;
        await t.selectFrom('projection_checkpoints').select('seq').where('name', '=', projection.name).forUpdate().execute();
        await projection.reset(trx);
        await t
          .updateTable('projection_checkpoints')
          .set({ seq: startSeq - 1, updated_at: sql`now()` })
          .where('name', '=', projection.name)
          .execute();
      });
      restart = true;
      messages?.stop();
      logger.info('projection rebuild started', { projection: projection.name, from_seq: startSeq });
      return { restartedAt: startSeq };
    },
    async stop() {
      stopped = true;
      messages?.stop();
      await loop.catch(() => undefined);
    },
  };
}
