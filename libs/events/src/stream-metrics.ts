import type { Logger, Metrics } from '@pep/runtime';
import { type QueryExecutorProvider, sql } from 'kysely';
import { durableLags } from './consumer-lag.ts';
import type { ProjectionRunner } from './projection.ts';
import { appliedPositions } from './stall-watch.ts';

const projections = new Map<string, ProjectionRunner>();

/** Makes a projection's checkpoint lag visible in this process's metrics until the projection is stopped. */
export function trackProjection(name: string, runner: ProjectionRunner): ProjectionRunner {
  projections.set(name, runner);
  return {
    ...runner,
    stop: async () => {
      if (projections.get(name) === runner) projections.delete(name);
      await runner.stop();
    },
  };
}

/**
 * What an SRE alerts on for a consumer of the stream, read at scrape time from the sources themselves:
 * - `jetstream_consumer_pending` / `jetstream_consumer_ack_pending` per durable (JetStream consumer info:
 *   `num_pending`, `num_ack_pending`),
 * - `projection_checkpoint_lag_events` per projection (matching events not yet applied) and
 *   `projection_checkpoint_seq` (the stream sequence the projection has applied),
 * - `dead_letters_open` per consumer (neither retried nor discarded by an operator, from the service's own
 *   `dead_letters` table).
 * A source that cannot be read at scrape time is logged and never reported as 0: a consumer or projection that
 * cannot be read is left out of that scrape; the dead-letter counts keep their last values while Postgres is away.
 */
export function registerStreamMetrics(metrics: Metrics, opts: { logger: Logger; db?: QueryExecutorProvider | undefined }) {
  const { logger } = opts;
  const failed = (what: string) => (err: unknown) => logger.warn(`metrics: ${what} could not be read at scrape time`, { err });
  // prom-client collects every metric of a scrape concurrently: gauges read from one source share one read.
  const lags = shared(() => durableLags((durable, err) => failed(`consumer ${durable}`)(err)));
  const pending = metrics.gauge(
    'jetstream_consumer_pending',
    'Events not yet delivered to a durable consumer (num_pending)',
    ['consumer'],
    async () => {
      const now = await lags();
      pending.reset();
      for (const l of now) pending.set({ consumer: l.durable }, l.pending);
    },
  );
  const ackPending = metrics.gauge(
    'jetstream_consumer_ack_pending',
    'Events delivered to a durable consumer and not yet acknowledged (num_ack_pending)',
    ['consumer'],
    async () => {
      const now = await lags();
      ackPending.reset();
      for (const l of now) ackPending.set({ consumer: l.durable }, l.ackPending);
    },
  );
  const positions = shared(async () => {
    const out: { name: string; lag: number; checkpoint: number }[] = [];
    await Promise.all(
      [...projections].map(async ([name, r]) => {
        try {
          const [l, c] = await Promise.all([r.lag(), r.checkpoint()]);
          out.push({ name, lag: l, checkpoint: c });
        } catch (err) {
          failed(`projection ${name}`)(err);
        }
      }),
    );
    return out;
  });
  const lag = metrics.gauge(
    'projection_checkpoint_lag_events',
    'Events matching a projection that it has not applied yet',
    ['projection'],
    async () => {
      const now = await positions();
      lag.reset();
      for (const p of now) lag.set({ projection: p.name }, p.lag);
    },
  );
  const checkpoint = metrics.gauge(
    'projection_checkpoint_seq',
    'Stream sequence a projection has applied (its checkpoint)',
    ['projection'],
    async () => {
      const now = await positions();
      checkpoint.reset();
      for (const p of now) checkpoint.set({ projection: p.name }, p.checkpoint);
    },
  );
  // Read from memory (no broker or database round trip): what a consumer has applied, folds kept only in memory
  // (the gateway's identity fold) included; a persisted projection's differs from its checkpoint only mid-batch.
  // With it, the moment it was read: a scrape that waits on another source still says when its figure held.
  const readAt = metrics.gauge('projection_applied_read_at_seconds', 'When projection_applied_seq was read (Unix time)');
  const applied = metrics.gauge(
    'projection_applied_seq',
    'Stream sequence a projection or in-memory fold has applied, as its process knows it',
    ['projection'],
    () => {
      applied.reset();
      for (const p of appliedPositions()) applied.set({ projection: p.name }, p.applied);
      readAt.set(Date.now() / 1000);
    },
  );
  const db = opts.db;
  if (!db) return;
  const open = metrics.gauge(
    'dead_letters_open',
    'Dead letters no operator has retried or discarded yet, by consumer',
    ['consumer'],
    async () => {
      const rows = await sql<{ consumer: string; n: number }>`
        select consumer, count(*)::int as n from dead_letters
        where retried_at is null and discarded_at is null group by consumer`
        .execute(db)
        .catch((err: unknown) => {
          failed('dead letters')(err);
          return undefined;
        });
      if (!rows) return;
      open.reset();
      for (const r of rows.rows) open.set({ consumer: r.consumer }, r.n);
    },
  );
}

/** One read shared by every caller while it is in flight (the gauges of one scrape). */
function shared<T>(read: () => Promise<T>): () => Promise<T> {
  let inflight: Promise<T> | undefined;
  return () => {
    inflight ??= read().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
}
