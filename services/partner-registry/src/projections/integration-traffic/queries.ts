import { DELIVERY_LATENCY_BUCKETS_MS, type IntegrationError } from '@pep/contracts';
import { type Kysely, sql } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';

/**
 * A latency percentile (q in 0..1) from non-cumulative bucket counts over DELIVERY_LATENCY_BUCKETS_MS, linearly
 * interpolated inside its bucket (the first bucket starts at 0; the last, above the largest bound, reads as that
 * bound). Null without observations. Pure.
 */
export function bucketPercentile(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let before = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    if (n > 0 && before + n >= rank) {
      const lower = i === 0 ? 0 : (DELIVERY_LATENCY_BUCKETS_MS[i - 1] ?? 0);
      const upper = DELIVERY_LATENCY_BUCKETS_MS[i] ?? lower;
      return Math.round(lower + ((upper - lower) * (rank - before)) / n);
    }
    before += n;
  }
  return DELIVERY_LATENCY_BUCKETS_MS[DELIVERY_LATENCY_BUCKETS_MS.length - 1] ?? null;
}

export interface MetricsHour {
  hour: string;
  calls: number;
  webhook_attempts: number;
  api_requests: number;
  succeeded: number;
  success_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  errors: Record<string, number>;
}

/** The hourly metrics of an integration in [from, to), oldest first. */
export async function integrationMetrics(db: Kysely<RegistryDB>, integrationId: string, from: Date, to: Date): Promise<MetricsHour[]> {
  const rows = await db
    .selectFrom('integration_metrics_hourly')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .where('hour', '>=', from)
    .where('hour', '<', to)
    .orderBy('hour')
    .execute();
  return rows.map((r) => {
    const webhook = Number(r.webhook_attempts);
    const api = Number(r.api_requests);
    const apiErrors = Number(r.api_errors);
    const calls = webhook + api;
    const succeeded = Number(r.webhook_succeeded) + api - apiErrors;
    const errors: Record<string, number> = {};
    for (const [k, n] of Object.entries(r.by_class)) if (n > 0) errors[k] = n;
    if (apiErrors > 0) errors.api_error = apiErrors;
    return {
      hour: new Date(r.hour).toISOString(),
      calls,
      webhook_attempts: webhook,
      api_requests: api,
      succeeded,
      success_rate: calls === 0 ? 0 : succeeded / calls,
      latency_ms: {
        p50: bucketPercentile(r.latency_buckets, 0.5),
        p95: bucketPercentile(r.latency_buckets, 0.95),
        p99: bucketPercentile(r.latency_buckets, 0.99),
      },
      errors,
    };
  });
}

/** Webhook attempts to the integration's endpoints (and how many succeeded) in the minutes since `since`. */
export async function recentTraffic(
  db: Kysely<RegistryDB>,
  integrationId: string,
  since: Date,
): Promise<{ attempts: number; succeeded: number }> {
  const r = await db
    .selectFrom('integration_traffic_minutes')
    .select([sql<string>`coalesce(sum(attempts), 0)`.as('attempts'), sql<string>`coalesce(sum(succeeded), 0)`.as('succeeded')])
    .where('integration_id', '=', integrationId)
    .where('minute', '>=', since)
    .executeTakeFirst();
  return { attempts: Number(r?.attempts ?? 0), succeeded: Number(r?.succeeded ?? 0) };
}

export interface ErrorsQuery {
  limit: number;
  starting_after?: string | undefined;
  class?: string | undefined;
  event_type?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** The integration's errors, newest first (by time, then id), filtered; `starting_after` is the last id of a page. */
export async function listIntegrationErrors(
  db: Kysely<RegistryDB>,
  integrationId: string,
  q: ErrorsQuery,
): Promise<{ data: IntegrationError[]; has_more: boolean }> {
  let query = db
    .selectFrom('integration_errors')
    .selectAll()
    .where('integration_id', '=', integrationId)
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1);
  if (q.class) query = query.where('class', '=', q.class);
  if (q.event_type) query = query.where('event_type', '=', q.event_type);
  if (q.from) query = query.where('occurred_at', '>=', new Date(q.from));
  if (q.to) query = query.where('occurred_at', '<', new Date(q.to));
  if (q.starting_after) {
    const after = await db
      .selectFrom('integration_errors')
      .select(['occurred_at', 'id'])
      .where('id', '=', q.starting_after)
      .where('integration_id', '=', integrationId)
      .executeTakeFirst();
    if (!after) return { data: [], has_more: false };
    query = query.where((eb) =>
      eb.or([eb('occurred_at', '<', after.occurred_at), eb.and([eb('occurred_at', '=', after.occurred_at), eb('id', '<', after.id)])]),
    );
  }
  const rows = await query.execute();
  return {
    data: rows.slice(0, q.limit).map((r) => ({
      id: r.id,
      object: 'integration_error',
      integration_id: r.integration_id,
      class: r.class as IntegrationError['class'],
      event_id: r.event_id,
      event_type: r.event_type,
      delivery_id: r.delivery_id,
      endpoint_id: r.endpoint_id,
      attempt: r.attempt,
      status_code: r.status_code,
      message: r.message,
      excerpt: r.excerpt,
      mapping_version: r.mapping_version,
      occurred_at: new Date(r.occurred_at).toISOString(),
    })),
    has_more: rows.length > q.limit,
  };
}
