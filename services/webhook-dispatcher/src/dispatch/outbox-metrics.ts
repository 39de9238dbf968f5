import type { Logger, Metrics } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';

/**
 * The outbox of exhausted deliveries whose `webhook.delivery_exhausted` event is not published yet:
 * `webhook_outbox_backlog` (rows) and `webhook_outbox_oldest_seconds` (age of the oldest), read at scrape time.
 */
export function registerOutboxMetrics(metrics: Metrics, db: Kysely<DispatcherDB>, logger: Logger): void {
  const oldest = metrics.gauge('webhook_outbox_oldest_seconds', 'Age of the oldest unpublished outbox row (0 when empty)');
  const backlog = metrics.gauge('webhook_outbox_backlog', 'Outbox rows whose event is not published yet', [], async () => {
    const r = await sql<{ n: number; age: number }>`
      select count(*)::int as n, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age from webhook_outbox`
      .execute(db)
      .catch((err: unknown) => {
        logger.warn('metrics: the outbox could not be read at scrape time', { err });
        return undefined;
      });
    const row = r?.rows[0];
    if (!row) return;
    backlog.set(row.n);
    oldest.set(row.age);
  });
}
