import type { Logger, Metrics } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';

/**
 * The outbox of exhausted deliveries whose `webhook.delivery_exhausted` event is not published yet:
 * `webhook_outbox_backlog` (rows) and `webhook_outbox_oldest_seconds` (age of the oldest, 0 when empty), read
 * at scrape time with one query shared by both gauges; they keep their last values while the database cannot answer.
 */
export function registerOutboxMetrics(metrics: Metrics, db: Kysely<DispatcherDB>, logger: Logger): void {
  let inflight: Promise<{ n: number; age: number } | undefined> | undefined;
  const read = () => {
    inflight ??= sql<{ n: number; age: number }>`
      select count(*)::int as n, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age from webhook_outbox`
      .execute(db)
      .then((r) => r.rows[0])
      .catch((err: unknown) => {
        logger.warn('metrics: the outbox could not be read at scrape time', { err });
        return undefined;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
  const backlog = metrics.gauge('webhook_outbox_backlog', 'Outbox rows whose event is not published yet', [], async () => {
    const row = await read();
    if (row) backlog.set(row.n);
  });
  const oldest = metrics.gauge('webhook_outbox_oldest_seconds', 'Age of the oldest unpublished outbox row (0 when empty)', [], async () => {
    const row = await read();
    if (row) oldest.set(row.age);
  });
}
