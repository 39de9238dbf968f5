import {
  type ApiUsageRolledUp,
  type DataOf,
  DELIVERY_LATENCY_BUCKETS_MS,
  type IntegrationConnected,
  type IntegrationDeliveryFailed,
  type IntegrationDisconnected,
  type IntegrationMappingFailed,
  type OAuthClientCreated,
  type StoredEvent,
  type WebhookDeliveriesRolledUp,
} from '@pep/contracts';
import { aggregateFilter, eventsOfTypes, type Projection } from '@pep/events';
import type { Insertable, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { INTEGRATION_TRAFFIC_PROJECTION, type IntegrationErrorsTable } from './table.ts';

type TrafficEvent =
  | { type: 'webhook.deliveries.rolled_up'; data: DataOf<typeof WebhookDeliveriesRolledUp> }
  | { type: 'api_usage.rolled_up'; data: DataOf<typeof ApiUsageRolledUp> }
  | { type: 'integration.delivery_failed'; data: DataOf<typeof IntegrationDeliveryFailed> }
  | { type: 'integration.mapping_failed'; data: DataOf<typeof IntegrationMappingFailed> }
  | { type: 'integration.connected'; data: DataOf<typeof IntegrationConnected> }
  | { type: 'integration.disconnected'; data: DataOf<typeof IntegrationDisconnected> }
  | { type: 'oauth_client.created'; data: DataOf<typeof OAuthClientCreated> };

const isTrafficEvent = eventsOfTypes<TrafficEvent>([
  'webhook.deliveries.rolled_up',
  'api_usage.rolled_up',
  'integration.delivery_failed',
  'integration.mapping_failed',
  'integration.connected',
  'integration.disconnected',
  'oauth_client.created',
]);

const HOUR_MS = 3_600_000;
/** Minute rows (what health reads) are kept this long. */
const MINUTES_KEPT_MS = 24 * HOUR_MS;

export interface HourDelta {
  integration_id: string;
  hour: number;
  partner_id: string;
  webhook_attempts: number;
  webhook_succeeded: number;
  api_requests: number;
  api_errors: number;
  by_class: Record<string, number>;
  latency_buckets: number[];
  latency_sum: number;
}

const emptyHour = (integration_id: string, hour: number, partner_id: string): HourDelta => ({
  integration_id,
  hour,
  partner_id,
  webhook_attempts: 0,
  webhook_succeeded: 0,
  api_requests: 0,
  api_errors: 0,
  by_class: {},
  latency_buckets: new Array<number>(DELIVERY_LATENCY_BUCKETS_MS.length + 1).fill(0),
  latency_sum: 0,
});

/** Adds `b` into `a` (the fold of two rows of one hour). */
export function addHour(a: HourDelta, b: Omit<HourDelta, 'integration_id' | 'hour' | 'partner_id'>): HourDelta {
  a.webhook_attempts += b.webhook_attempts;
  a.webhook_succeeded += b.webhook_succeeded;
  a.api_requests += b.api_requests;
  a.api_errors += b.api_errors;
  for (const [k, n] of Object.entries(b.by_class)) if (n) a.by_class[k] = (a.by_class[k] ?? 0) + n;
  b.latency_buckets.forEach((n, i) => {
    a.latency_buckets[i] = (a.latency_buckets[i] ?? 0) + n;
  });
  a.latency_sum += b.latency_sum;
  return a;
}

/** The hour delta of one dispatcher rollup (failed attempts by class; `success` is not an error). */
export function rollupHour(d: DataOf<typeof WebhookDeliveriesRolledUp>, integrationId: string): HourDelta {
  const minute = Date.parse(d.minute);
  const h = emptyHour(integrationId, minute - (minute % HOUR_MS), d.partner_id);
  const { success, ...failed } = d.by_class;
  return addHour(h, {
    webhook_attempts: d.attempts,
    webhook_succeeded: success ?? 0,
    api_requests: 0,
    api_errors: 0,
    by_class: failed,
    latency_buckets: d.latency_ms_buckets,
    latency_sum: d.latency_ms_sum,
  });
}

/**
 * Integration metrics and errors from real traffic, folded from the stream (every aggregate subject; unknown types are
 * ignored) in the projection's transaction, so the rows and the checkpoint commit together and a crash replays the
 * batch onto the rows as they were. Webhook attempts come from `webhook.deliveries.rolled_up` carrying the
 * integration (the dispatcher knows which endpoints an integration owns); API requests from `api_usage.rolled_up`'s
 * `by_credential`, credited to the integration of the credential's application installed by the same partner (an
 * OAuth client belongs to an application; the oldest such connected integration when there are several).
 */
export async function applyTrafficEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  const relevant = events.filter(isTrafficEvent);
  if (relevant.length === 0) return;
  const hours = new Map<string, HourDelta>();
  const minutes = new Map<string, { integration_id: string; minute: number; attempts: number; succeeded: number }>();
  const addTo = (d: HourDelta) => {
    const key = `${d.integration_id}|${d.hour}`;
    const prior = hours.get(key);
    hours.set(key, prior ? addHour(prior, d) : d);
  };
  for (const e of relevant) {
    switch (e.type) {
      case 'oauth_client.created':
        await trx
          .insertInto('integration_traffic_clients')
          .values({ client_id: e.data.client_id, application_id: e.data.application_id })
          .onConflict((oc) => oc.column('client_id').doUpdateSet({ application_id: e.data.application_id }))
          .execute();
        break;
      case 'integration.connected':
        await trx
          .insertInto('integration_traffic_apps')
          .values({
            integration_id: e.data.integration_id,
            partner_id: e.partnerid ?? '',
            application_id: e.data.application_id ?? '',
            connected: true,
          })
          .onConflict((oc) => oc.column('integration_id').doUpdateSet({ connected: true }))
          .execute();
        break;
      case 'integration.disconnected':
        await trx
          .updateTable('integration_traffic_apps')
          .set({ connected: false })
          .where('integration_id', '=', e.data.integration_id)
          .execute();
        break;
      case 'webhook.deliveries.rolled_up': {
        const id = e.data.integration_id;
        if (!id) break;
        addTo(rollupHour(e.data, id));
        const minute = Date.parse(e.data.minute);
        const key = `${id}|${minute}`;
        const m = minutes.get(key) ?? { integration_id: id, minute, attempts: 0, succeeded: 0 };
        m.attempts += e.data.attempts;
        m.succeeded += e.data.by_class.success ?? 0;
        minutes.set(key, m);
        break;
      }
      case 'api_usage.rolled_up': {
        const by = e.data.by_credential;
        if (!by) break;
        const minute = Date.parse(e.data.minute);
        for (const [credential, c] of Object.entries(by)) {
          const integrationId = await integrationOfCredential(trx, e.data.partner_id, credential);
          if (!integrationId) continue;
          const h = emptyHour(integrationId, minute - (minute % HOUR_MS), e.data.partner_id);
          h.api_requests = c.requests;
          h.api_errors = c.errors;
          addTo(h);
        }
        break;
      }
      case 'integration.delivery_failed': {
        const d = e.data;
        await insertError(trx, {
          id: e.id,
          integration_id: d.integration_id,
          partner_id: e.partnerid ?? '',
          class: d.error_class,
          event_id: d.event_id,
          event_type: d.event_type,
          delivery_id: d.delivery_id,
          endpoint_id: d.endpoint_id,
          attempt: d.attempt,
          status_code: d.status_code,
          message: d.error,
          excerpt: d.excerpt,
          mapping_version: null,
          occurred_at: new Date(d.failed_at),
        });
        break;
      }
      case 'integration.mapping_failed': {
        const d = e.data;
        const attempt = Number(/_(\d+)$/.exec(e.id)?.[1]);
        await insertError(trx, {
          id: e.id,
          integration_id: d.integration_id,
          partner_id: e.partnerid ?? '',
          class: 'mapping',
          event_id: d.event_id,
          event_type: d.event_type,
          delivery_id: d.delivery_id,
          endpoint_id: d.endpoint_id,
          attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : null,
          status_code: null,
          message: `${d.error_class} ${d.error_code}: ${d.error_message}`.slice(0, 500),
          excerpt: null,
          mapping_version: d.mapping_version,
          occurred_at: new Date(d.failed_at),
        });
        break;
      }
      default: {
        const never: never = e;
        return never;
      }
    }
  }
  await saveHours(trx, [...hours.values()]);
  if (minutes.size) {
    const rows = [...minutes.values()];
    const existing = await trx
      .selectFrom('integration_traffic_minutes')
      .selectAll()
      .where((eb) => eb.or(rows.map((r) => eb.and([eb('integration_id', '=', r.integration_id), eb('minute', '=', new Date(r.minute))]))))
      .execute();
    for (const x of existing) {
      const r = minutes.get(`${x.integration_id}|${new Date(x.minute).getTime()}`);
      if (r) {
        r.attempts += Number(x.attempts);
        r.succeeded += Number(x.succeeded);
      }
    }
    await trx
      .insertInto('integration_traffic_minutes')
      .values(
        rows.map((r) => ({ integration_id: r.integration_id, minute: new Date(r.minute), attempts: r.attempts, succeeded: r.succeeded })),
      )
      .onConflict((oc) =>
        oc
          .columns(['integration_id', 'minute'])
          .doUpdateSet((eb) => ({ attempts: eb.ref('excluded.attempts'), succeeded: eb.ref('excluded.succeeded') })),
      )
      .execute();
    const newest = Math.max(...rows.map((r) => r.minute));
    await trx
      .deleteFrom('integration_traffic_minutes')
      .where('minute', '<', new Date(newest - MINUTES_KEPT_MS))
      .execute();
  }
}

async function integrationOfCredential(trx: Transaction<RegistryDB>, partnerId: string, credential: string): Promise<string | undefined> {
  const row = await trx
    .selectFrom('integration_traffic_clients as c')
    .innerJoin('integration_traffic_apps as a', 'a.application_id', 'c.application_id')
    .select('a.integration_id')
    .where('c.client_id', '=', credential)
    .where('a.partner_id', '=', partnerId)
    .where('a.connected', '=', true)
    .orderBy('a.integration_id')
    .limit(1)
    .executeTakeFirst();
  return row?.integration_id;
}

async function insertError(trx: Transaction<RegistryDB>, row: Insertable<IntegrationErrorsTable>) {
  await trx
    .insertInto('integration_errors')
    .values(row)
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

async function saveHours(trx: Transaction<RegistryDB>, deltas: HourDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const existing = await trx
    .selectFrom('integration_metrics_hourly')
    .selectAll()
    .where((eb) => eb.or(deltas.map((d) => eb.and([eb('integration_id', '=', d.integration_id), eb('hour', '=', new Date(d.hour))]))))
    .execute();
  const byKey = new Map(deltas.map((d) => [`${d.integration_id}|${d.hour}`, d]));
  for (const x of existing) {
    const d = byKey.get(`${x.integration_id}|${new Date(x.hour).getTime()}`);
    if (!d) continue;
    addHour(d, {
      webhook_attempts: Number(x.webhook_attempts),
      webhook_succeeded: Number(x.webhook_succeeded),
      api_requests: Number(x.api_requests),
      api_errors: Number(x.api_errors),
      by_class: x.by_class,
      latency_buckets: x.latency_buckets,
      latency_sum: Number(x.latency_sum),
    });
  }
  await trx
    .insertInto('integration_metrics_hourly')
    .values(
      deltas.map((d) => ({
        integration_id: d.integration_id,
        hour: new Date(d.hour),
        partner_id: d.partner_id,
        webhook_attempts: d.webhook_attempts,
        webhook_succeeded: d.webhook_succeeded,
        api_requests: d.api_requests,
        api_errors: d.api_errors,
        by_class: JSON.stringify(d.by_class),
        latency_buckets: JSON.stringify(d.latency_buckets),
        latency_sum: d.latency_sum,
      })),
    )
    .onConflict((oc) =>
      oc.columns(['integration_id', 'hour']).doUpdateSet((eb) => ({
        webhook_attempts: eb.ref('excluded.webhook_attempts'),
        webhook_succeeded: eb.ref('excluded.webhook_succeeded'),
        api_requests: eb.ref('excluded.api_requests'),
        api_errors: eb.ref('excluded.api_errors'),
        by_class: eb.ref('excluded.by_class'),
        latency_buckets: eb.ref('excluded.latency_buckets'),
        latency_sum: eb.ref('excluded.latency_sum'),
      })),
    )
    .execute();
}

export function integrationTrafficProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: INTEGRATION_TRAFFIC_PROJECTION,
    filterSubject: aggregateFilter(prefix),
    apply: applyTrafficEvents,
    async reset(trx) {
      for (const t of [
        'integration_metrics_hourly',
        'integration_traffic_minutes',
        'integration_errors',
        'integration_traffic_apps',
        'integration_traffic_clients',
      ] as const)
        await trx.deleteFrom(t).execute();
    },
  };
}
