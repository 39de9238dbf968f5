import type { StoredEvent } from '@pep/contracts';
import { type PlatformTables, platformView } from '@pep/db';
import type { Logger } from '@pep/runtime';
import { type ConsumerMessages, DeliverPolicy } from '@nats-io/jetstream';
import { type Kysely, sql } from 'kysely';
import { decodeEvent } from './codec.ts';
import { tracedApply } from './event-tracing.ts';
import type { EventBus } from './connection.ts';
import { PoisonMessageError } from './errors.ts';
import { isConnectionError, ProjectionBehindError } from './projection-errors.ts';
import { openProjectionDeadLetters, rebuildStartSeq, resetForRebuild, retryProjectionDeadLetter } from './projection-ops.ts';
import type { Projection, ProjectionRunner } from './projection-types.ts';
import { type RecreateReason, type StallState, startStallWatch } from './stall-watch.ts';
import type { DeadLetterSink } from './worker.ts';

export type { Projection, ProjectionRunner, ProjectionState, ProjectionStatus, RebuildFrom } from './projection-types.ts';

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
  /** Behind the stream with no progress this long → the consumer is recreated from the checkpoint. */
  stallMs?: number;
  /** Behind (even while progressing) this long → reported as lagging. */
  lagReportMs?: number;
  onRecreate?: (reason: RecreateReason) => void;
  onDeadLetter?: () => void;
}): Promise<ProjectionRunner> {
  const { bus, projection, logger } = opts;
  const db = platformView(opts.db);
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
  /** Bumped by rebuild(): a batch read before it must neither be applied nor move `applied` (it is stale). */
  let generation = 0;
  const waiters = new Set<{ seq: number; resolve: (n: number) => void }>();
  const notify = () => {
    for (const w of waiters)
      if (applied >= w.seq) {
        waiters.delete(w);
        w.resolve(applied);
      }
  };

  /** One transaction: lock checkpoint, drop covered events, apply, advance. Returns the new checkpoint. */
  const applyBatch = async (events: StoredEvent[], gen: number): Promise<number> =>
    opts.db.transaction().execute(async (trx) => {
      const t = platformView(trx);
      const row = await t
        .selectFrom('projection_checkpoints')
        .select('seq')
        .where('name', '=', projection.name)
        .forUpdate()
        .executeTakeFirstOrThrow();
      // A rebuild reset the checkpoint after this batch was read: applying it would skip what came before it.
      if (gen !== generation) return row.seq;
      const fresh = events.filter((e) => e.seq > row.seq);
      if (fresh.length === 0) return row.seq;
      await tracedApply(projection.name, fresh, () => projection.apply(trx, fresh));
      const last = (fresh[fresh.length - 1] as StoredEvent).seq;
      await t
        .updateTable('projection_checkpoints')
        .set({ seq: last, updated_at: sql`now()` })
        .where('name', '=', projection.name)
        .execute();
      return last;
    });

  /** Set while the database is away: nothing is dead-lettered then, and recreating the consumer would not help. */
  let dbProblem: string | undefined;
  /** When the database was last seen away: an error soon after it is the outage's aftermath, not the event's. */
  let dbAwayAt = 0;
  const dbAway = (err: unknown) => {
    dbProblem = `database unavailable: ${err instanceof Error ? err.message : String(err)}`;
    dbAwayAt = Date.now();
  };
  const AFTERMATH_MS = 15_000;
  const databaseReachable = async () =>
    sql`select 1`
      .execute(db)
      .then(() => true)
      .catch(() => false);

  const applyOneByOne = async (events: StoredEvent[], gen: number) => {
    for (const ev of events) {
      for (let attempt = 1; ; attempt++) {
        try {
          const reached = await applyBatch([ev], gen);
          if (gen !== generation) return;
          applied = Math.max(applied, reached);
          dbProblem = undefined;
          break;
        } catch (err) {
          // The database being away says nothing about the event: restart from the checkpoint instead.
          if (isConnectionError(err) || !(await databaseReachable())) {
            dbAway(err);
            throw err;
          }
          // Right after an outage an error the classification does not know (a connection broken in a way it has
          // not seen) must neither dead-letter the event nor hold the projection in the per-event backoff: the round
          // restarts from the checkpoint at once, as for the outage itself.
          if (Date.now() - dbAwayAt < AFTERMATH_MS) {
            logger.warn('projection event failed right after a database outage; restarting from the checkpoint', {
              projection: projection.name,
              seq: ev.seq,
              err,
            });
            throw err;
          }
          if (attempt >= maxAttempts) {
            await deadLetterAndSkip(ev, err, attempt);
            break;
          }
          await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5000)));
        }
      }
    }
  };

  /** `ev` is the event, or for one that could not be decoded, what the message says of it (seq and subject). */
  const deadLetterAndSkip = async (ev: Pick<StoredEvent, 'id' | 'type' | 'seq' | 'subject_name'>, err: unknown, attempts: number) => {
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
    opts.onDeadLetter?.();
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
  /** Events of the batch being applied, and its transaction (one at a time). */
  let applying = 0;
  let inflight: Promise<{ failed: unknown } | undefined> | undefined;

  let failures = 0;
  /** When the first failed round of the current outage began (0: none); logged when the consumer runs again. */
  let failingSince = 0;
  let paused = false;
  let parked = false;
  const run = async () => {
    while (!stopped) {
      // Paused for a switch-over: no batch is open here; wait (every transaction so far is committed).
      while (paused && !stopped) {
        parked = true;
        await new Promise((r) => setTimeout(r, 20));
      }
      parked = false;
      if (stopped) break;
      restart = false;
      try {
        const gen = generation;
        const start = (await readCheckpoint()) + 1;
        dbProblem = undefined;
        applied = start - 1;
        notify();
        const consumer = await bus.js.consumers.get(bus.stream, {
          filter_subjects: projection.filterSubject,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: start,
        });
        messages = await consumer.consume({ max_messages: batchSize * 2 });
        // Stopped while the consumer was being created: `stop` could not reach this one.
        if (stopped) messages.stop();
        if (failingSince) {
          logger.warn('projection consumer running again', {
            projection: projection.name,
            from_seq: start,
            failed_rounds: failures,
            after_ms: Date.now() - failingSince,
          });
          failingSince = 0;
        }
        failures = 0;
        watch.watch(messages);
        let batch: StoredEvent[] = [];
        /** One batch at a time is applied while the next one is read and decoded (its transaction commits first). */
        const applyOne = async (b: StoredEvent[]) => {
          try {
            const reached = await applyBatch(b, gen);
            if (gen !== generation) return;
            applied = Math.max(applied, reached);
            dbProblem = undefined;
          } catch (err) {
            if (isConnectionError(err)) {
              dbAway(err);
              throw err;
            }
            logger.warn('projection batch failed, applying one by one', { projection: projection.name, err });
            await applyOneByOne(b, gen);
          } finally {
            applying = 0;
          }
          notify();
        };
        /** Waits for the batch being applied; its failure ends this round (rethrown here). */
        const settle = async () => {
          const outcome = await inflight;
          inflight = undefined;
          if (outcome) throw outcome.failed;
        };
        const flush = async () => {
          await settle();
          if (batch.length === 0) return;
          const b = batch;
          batch = [];
          buffered = 0;
          applying = b.length;
          // Its failure is kept as the outcome (never an unhandled rejection) and rethrown by the next settle().
          const round = messages;
          inflight = applyOne(b).then(
            () => undefined,
            (failed: unknown) => {
              round?.stop(); // ends the round now: a projection with quiet subjects would wait for a next message
              return { failed };
            },
          );
        };
        for await (const m of messages) {
          if (stopped || restart) break;
          watch.progress();
          try {
            lastPending = m.info.pending;
            batch.push(decodeEvent(m));
            buffered = batch.length;
          } catch (err) {
            if (!(err instanceof PoisonMessageError)) throw err;
            await flush();
            await settle();
            await deadLetterAndSkip({ id: '', type: '', seq: m.seq, subject_name: m.subject }, err, 1);
            continue;
          }
          if (batch.length >= batchSize || m.info.pending === 0) await flush();
        }
        await flush();
        await settle();
      } catch (err) {
        // The consumer of the failed round must not go on pulling beside the next one, nor its last batch go on
        // being applied (it fails or commits; either way the next round starts from the checkpoint after it).
        messages?.stop();
        const last = await inflight;
        inflight = undefined;
        if (last) logger.warn('projection batch of the failed round failed too', { projection: projection.name, err: last.failed });
        if (stopped) break;
        if (isConnectionError(err)) dbAway(err);
        failures++;
        failingSince ||= Date.now();
        logger.warn('projection loop failed, restarting', { projection: projection.name, err });
        // Soon at first (a broker that just came back answers within a second), then every second; while the
        // database is away it is asked every 100 ms meanwhile, so the round starts again as soon as it answers.
        const until = Date.now() + Math.min(250 * failures, 1000);
        while (!stopped && Date.now() < until) {
          await new Promise((r) => setTimeout(r, Math.min(100, Math.max(0, until - Date.now()))));
          if (dbProblem && (await databaseReachable())) break;
        }
      }
    }
  };

  const lastMatchingSeq = async () => {
    const m = await bus.jsm.streams.getMessage(bus.stream, { last_by_subj: projection.filterSubject });
    return m ? m.seq : 0;
  };
  const watch = startStallWatch({
    name: projection.name,
    nc: bus.nc,
    logger,
    applied: () => applied,
    target: lastMatchingSeq,
    paused: () => dbProblem ?? (paused ? 'paused for a switch-over' : undefined),
    stallMs: opts.stallMs ?? 5000,
    recreate: () => {
      restart = true;
      messages?.stop();
    },
    ...(opts.onRecreate ? { onRecreate: opts.onRecreate } : {}),
  });
  const loop = run();
  const lagReportMs = opts.lagReportMs ?? 30_000;
  const openDeadLetters = () => openProjectionDeadLetters(db, projection.name);
  const describe = (w: StallState): string => {
    if (w.unknown) return `stream unavailable: ${w.unknown}`;
    return `${w.behind} events behind for ${Math.round(w.behindForMs / 1000)} s, no progress for ${Math.round(w.stalledForMs / 1000)} s`;
  };
  return {
    async waitFor(seq, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let target: number;
        try {
          const lastMatching = await lastMatchingSeq();
          target = seq === undefined ? lastMatching : Math.min(seq, lastMatching);
        } catch (err) {
          // The broker is away: a given sequence can still be waited for, the stream's last one cannot.
          if (seq === undefined || Date.now() > deadline)
            throw new ProjectionBehindError(projection.name, seq ?? -1, applied, timeoutMs, `stream unavailable`, { cause: err });
          target = seq;
        }
        if (applied >= target) return applied;
        if (Date.now() > deadline) {
          const w = watch.state();
          throw new ProjectionBehindError(projection.name, target, applied, timeoutMs, dbProblem ?? describe(w));
        }
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
    async status() {
      const w = watch.state();
      const open = await openDeadLetters().catch(() => -1);
      const base = { name: projection.name, filterSubject: projection.filterSubject, applied, openDeadLetters: open, ...w };
      if (dbProblem) return { ...base, state: 'unavailable', reason: dbProblem };
      if (w.unknown) return { ...base, state: 'unavailable', reason: describe(w) };
      if (w.behind > 0 && w.stalledForMs >= (opts.stallMs ?? 5000)) return { ...base, state: 'stalled', reason: describe(w) };
      if (w.behind > 0 && w.behindForMs >= lagReportMs) return { ...base, state: 'lagging', reason: describe(w) };
      if (open !== 0)
        return {
          ...base,
          state: 'degraded',
          reason:
            open < 0 ? 'dead letters cannot be counted' : `${open} dead-lettered event(s) wait for an operator (pnpm ops dead-letters)`,
        };
      return { ...base, state: 'ok' };
    },
    retryDeadLetter: (id) => retryProjectionDeadLetter(opts.db, projection, logger, id),
    async lag() {
      const lastMatching = await lastMatchingSeq();
      return lastMatching > applied ? Math.max(lastPending + buffered + applying, 1) : 0;
    },
    async rebuild(from) {
      const startSeq = await rebuildStartSeq(bus, from);
      generation++;
      await resetForRebuild(opts.db, projection, startSeq);
      // waitFor() right after rebuild() waits for the rebuilt read model, not the checkpoint before the reset.
      applied = startSeq - 1;
      restart = true;
      messages?.stop();
      logger.info('projection rebuild started', { projection: projection.name, from_seq: startSeq });
      return { restartedAt: startSeq };
    },
    async pause() {
      paused = true;
      restart = true;
      messages?.stop();
      while (!parked && !stopped) await new Promise((r) => setTimeout(r, 20));
    },
    resume() {
      paused = false;
    },
    async stop() {
      stopped = true;
      watch.stop();
      messages?.stop();
      await loop.catch((err: unknown) => logger.warn('projection loop ended with an error', { projection: projection.name, err }));
    },
  };
}
