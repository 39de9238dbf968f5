import type { Principal } from '@pep/contracts';
import { NotFoundError, ValidationError } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';
import { createJob, type JobRow } from '../jobs/job-runner.ts';
import { findIntegrationOwner, integrationTraffic } from '../projections/integration-mappings/index.ts';
import { visible } from './ownership.ts';

const HOUR_MS = 3600_000;

export interface DeliveryFilter {
  limit: number;
  status?: 'pending' | 'succeeded' | 'failed' | undefined;
  event_type?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  starting_after?: string | undefined;
}

/**
 * The traffic window asked for: by default the 24 whole hours up to the end of the current one; at most 31
 * days, `from` before `to`.
 */
export function trafficWindow(q: { from?: string | undefined; to?: string | undefined }, now: Date): { from: Date; to: Date } {
  const to = q.to ? new Date(q.to) : new Date(Math.ceil((now.getTime() + 1) / HOUR_MS) * HOUR_MS);
  const from = q.from ? new Date(q.from) : new Date(to.getTime() - 24 * HOUR_MS);
  if (from.getTime() >= to.getTime() || to.getTime() - from.getTime() > 31 * 24 * HOUR_MS) {
    throw new ValidationError([{ path: 'from', message: 'from must be before to, at most 31 days apart' }]);
  }
  return { from, to };
}

/** Use cases over deliveries, attempts and jobs: what a partner may read, and resend/recover/replay jobs. */
export function deliveryLog(d: { db: Kysely<DispatcherDB>; now: () => Date; onJobCreated: () => void }) {
  return {
    /**
     * A stored event (the dispatcher keeps the body of every event it made a delivery of), for a mapping preview:
     * the caller's partner's own only (another's, or an event never delivered, is 404).
     */
    async storedEvent(id: string, principal: Principal) {
      const row = await d.db
        .selectFrom('webhook_events')
        .select(['id', 'partner_id', 'body'])
        .where('id', '=', id)
        .limit(1)
        .executeTakeFirst();
      const ev = visible(row ? { ...row, partner_id: row.partner_id ?? '' } : undefined, principal, `event ${id}`);
      const e = JSON.parse(ev.body) as Record<string, unknown>;
      const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
      return {
        id: ev.id,
        type: str(e.type) ?? '',
        time: str(e.time),
        source: str(e.source),
        subject: str(e.subject),
        data: e.data ?? null,
      };
    },

    async delivery(id: string, principal: Principal) {
      return visible(
        await d.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst(),
        principal,
        'delivery',
      );
    },

    /** One page (and one row more, to tell whether there are more) of an endpoint's deliveries, newest first. */
    deliveries(endpointId: string, q: DeliveryFilter) {
      let sel = d.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('endpoint_id', '=', endpointId)
        .orderBy('id', 'desc')
        .limit(q.limit + 1);
      if (q.status) sel = sel.where('status', '=', q.status);
      if (q.event_type) sel = sel.where('event_type', '=', q.event_type);
      if (q.since) sel = sel.where('created_at', '>=', new Date(q.since));
      if (q.until) sel = sel.where('created_at', '<=', new Date(q.until));
      if (q.starting_after) sel = sel.where('id', '<', q.starting_after);
      return sel.execute();
    },

    /** One page (and one row more) of a delivery's attempts, oldest first. */
    attempts(deliveryId: string, q: { limit: number; starting_after?: string | undefined }) {
      let sel = d.db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('delivery_id', '=', deliveryId)
        .orderBy('id')
        .limit(q.limit + 1);
      if (q.starting_after) sel = sel.where('id', '>', Number(q.starting_after.replace(/^att_/, '')) || 0);
      return sel.execute();
    },

    async job(id: string, principal: Principal) {
      return visible(await d.db.selectFrom('webhook_jobs').selectAll().where('id', '=', id).executeTakeFirst(), principal, 'job');
    },

    async startJob(kind: JobRow['kind'], endpoint: { id: string; partner_id: string }, params: Record<string, unknown>) {
      const row = await createJob(d.db, { kind, endpoint_id: endpoint.id, partner_id: endpoint.partner_id, params }, d.now());
      d.onJobCreated();
      return row;
    },

    async integrationTraffic(id: string, principal: Principal, q: { from?: string | undefined; to?: string | undefined }) {
      const owner = await findIntegrationOwner(d.db, id);
      if (!owner) throw new NotFoundError(`integration ${id} not found`);
      visible(owner, principal, `integration ${id}`);
      const { from, to } = trafficWindow(q, d.now());
      return { from, to, data: await integrationTraffic(d.db, id, from, to) };
    },
  };
}
