import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DispatcherDB, EndpointsTable } from '../../db/schema.ts';
import {
  type EndpointState,
  endpointEventTypes,
  evolve,
  initialEndpointState,
  isEndpointEvent,
} from '../../domain/webhook-endpoint/webhook-endpoint.ts';

export const ENDPOINTS_PROJECTION = 'webhook_endpoints';
export const handledEventTypes = endpointEventTypes;

export type EndpointRow = Selectable<EndpointsTable>;

function rowToState(r: EndpointRow): EndpointState {
  return {
    status: r.deleted ? 'deleted' : 'active',
    endpoint_id: r.id,
    partner_id: r.partner_id,
    url: r.url,
    description: r.description,
    event_types: r.event_types,
    rate_limit_per_s: r.rate_limit_per_s,
    timeout_ms: r.timeout_ms,
    headers: r.headers,
    payload_format: r.payload_format,
    integration_id: r.integration_id,
    enabled: r.enabled,
    disabled_reason: r.disabled_reason as EndpointState['disabled_reason'],
    secret_sealed: r.secret_sealed,
    previous_secret_sealed: r.previous_secret_sealed,
    previous_expires_at: r.previous_expires_at?.toISOString() ?? null,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

function stateToRow(s: EndpointState, version: number): EndpointRow {
  return {
    id: s.endpoint_id,
    partner_id: s.partner_id,
    url: s.url,
    description: s.description,
    event_types: s.event_types,
    enabled: s.enabled,
    disabled_reason: s.disabled_reason,
    rate_limit_per_s: s.rate_limit_per_s,
    timeout_ms: s.timeout_ms,
    headers: s.headers,
    payload_format: s.payload_format,
    integration_id: s.integration_id,
    secret_sealed: s.secret_sealed,
    previous_secret_sealed: s.previous_secret_sealed,
    previous_expires_at: s.previous_expires_at ? new Date(s.previous_expires_at) : null,
    deleted: s.status === 'deleted',
    version,
    created_at: new Date(s.created_at),
    updated_at: new Date(s.updated_at),
  };
}

/** The endpoints read model: one row per endpoint, folded with the aggregate's own `evolve`. */
export function endpointsProjection(prefix: string): Projection<DispatcherDB> {
  return {
    name: ENDPOINTS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'webhook_endpoint'),
    async apply(trx: Transaction<DispatcherDB>, events: StoredEvent[]) {
      for (const ev of events) {
        if (!isEndpointEvent(ev)) continue;
        const id = ev.data.endpoint_id;
        if (!id) continue;
        const cur = await trx.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
        const next = evolve(cur ? rowToState(cur) : initialEndpointState(), ev);
        if (next.status === 'new') continue;
        const row = stateToRow(next, ev.seq);
        const { id: _id, ...rest } = row;
        await trx
          .insertInto('webhook_endpoints')
          .values({ ...row, headers: JSON.stringify(row.headers) })
          .onConflict((oc) => oc.column('id').doUpdateSet({ ...rest, headers: JSON.stringify(rest.headers) }))
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('webhook_endpoints').execute();
    },
  };
}

export function findEndpoint(db: Kysely<DispatcherDB>, id: string) {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('deleted', '=', false).executeTakeFirst();
}

export function listEndpoints(db: Kysely<DispatcherDB>, opts: { partner_id?: string; limit: number; starting_after?: string }) {
  let q = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('deleted', '=', false)
    .orderBy('id')
    .limit(opts.limit + 1);
  if (opts.partner_id) q = q.where('partner_id', '=', opts.partner_id);
  if (opts.starting_after) q = q.where('id', '>', opts.starting_after);
  return q.execute();
}

/** Every endpoint not deleted, in id order. */
export function liveEndpoints(db: Kysely<DispatcherDB>) {
  return db.selectFrom('webhook_endpoints').selectAll().where('deleted', '=', false).orderBy('id').execute();
}
