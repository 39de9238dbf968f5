import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { OrchestratorDB, OrchestratorTables } from '../../db/schema.ts';
import { isIncidentEvent } from '../../domain/incident/incident.ts';
import { incidentKey } from '../../domain/keys.ts';

export const INCIDENTS_PROJECTION = 'incidents';
export const handledTypes = ['incident.opened', 'incident.resolved'] as const;

/** Incidents and the incident half of each incident's timeline. */
export function incidentsProjection(prefix: string): Projection<OrchestratorDB> {
  return {
    name: INCIDENTS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'incident'),
    async apply(trx: Transaction<OrchestratorDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (!isIncidentEvent(e)) continue;
        if (e.type === 'incident.opened') {
          const d = e.data;
          const key = incidentKey(d.partner_id, d.incident_id);
          await trx
            .insertInto('incidents')
            .values({
              key,
              partner_id: d.partner_id,
              incident_id: d.incident_id,
              customer_id: d.customer_id,
              status: 'open',
              severity: d.severity,
              journey: JSON.stringify(d.journey),
              evidence: JSON.stringify(d.evidence),
              suspects: JSON.stringify(d.suspects),
              source: d.source,
              detected_at: d.detected_at,
              opened_at: d.opened_at,
              resolved_at: null,
              seq: e.seq,
            })
            .onConflict((oc) => oc.column('key').doNothing())
            .execute();
          await trx
            .insertInto('timeline')
            .values({
              seq: e.seq,
              key,
              at: d.opened_at,
              type: e.type,
              actor: `monitor (${d.source === 'api' ? 'POST /v1/incidents' : 'pathcanary.incident.detected'})`,
              summary: `${d.severity} incident on ${d.journey.funnel}/${d.journey.step} for customer ${d.customer_id}`,
              details: JSON.stringify({ journey: d.journey, evidence: d.evidence, suspects: d.suspects, detected_at: d.detected_at }),
            })
            .onConflict((oc) => oc.column('seq').doNothing())
            .execute();
        } else if (e.type === 'incident.resolved') {
          const d = e.data;
          const key = incidentKey(d.partner_id, d.incident_id);
          await trx.updateTable('incidents').set({ status: 'resolved', resolved_at: d.resolved_at }).where('key', '=', key).execute();
          await trx
            .insertInto('timeline')
            .values({
              seq: e.seq,
              key,
              at: d.resolved_at,
              type: e.type,
              actor: d.resolved_by,
              summary: `incident resolved${d.reason ? `: ${d.reason}` : ''}`,
              details: JSON.stringify({ reason: d.reason }),
            })
            .onConflict((oc) => oc.column('seq').doNothing())
            .execute();
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('incidents').execute();
      await trx.deleteFrom('timeline').where('type', 'like', 'incident.%').execute();
    },
  };
}

/** A row of the incidents read model. */
export type IncidentRow = Selectable<OrchestratorTables['incidents']>;

/** Finds an incident by its id; `partnerId` undefined = any partner (admin). */
export function findIncident(db: Kysely<OrchestratorDB>, incidentId: string, partnerId: string | undefined) {
  let q = db.selectFrom('incidents').selectAll().where('incident_id', '=', incidentId);
  if (partnerId !== undefined) q = q.where('partner_id', '=', partnerId);
  return q.orderBy('seq', 'asc').limit(1).executeTakeFirst();
}

export function listIncidents(
  db: Kysely<OrchestratorDB>,
  f: { partnerId: string | undefined; customerId?: string; status?: string; limit: number; startingAfter?: number },
) {
  let q = db
    .selectFrom('incidents')
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(f.limit + 1);
  if (f.partnerId !== undefined) q = q.where('partner_id', '=', f.partnerId);
  if (f.customerId) q = q.where('customer_id', '=', f.customerId);
  if (f.status) q = q.where('status', '=', f.status);
  if (f.startingAfter !== undefined) q = q.where('seq', '<', f.startingAfter);
  return q.execute();
}

/**
 * An incident's timeline in time order (`at`, then stream sequence). Stream order is not time order: actions
 * run in parallel and record their outcome when they finish, and a resolve may carry an earlier
 * `resolved_at`. `at` is an RFC 3339 time with any offset, so it is compared as a time, not as text.
 */
export async function timelineOf(db: Kysely<OrchestratorDB>, key: string) {
  const rows = await db.selectFrom('timeline').selectAll().where('key', '=', key).orderBy('seq', 'asc').execute();
  const time = (at: string) => {
    const t = Date.parse(at);
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  };
  return rows
    .map((r) => ({ r, t: time(r.at) }))
    .sort((a, b) => a.t - b.t || a.r.seq - b.r.seq)
    .map(({ r }) => r);
}
