import type { Integration, IntegrationHealth, StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolveIntegration, INTEGRATION_EVENT_TYPES, type IntegrationState, toIntegration } from '../../domain/integration/integration.ts';

export interface IntegrationsTable {
  id: string;
  partner_id: string;
  application_id: string;
  status: 'connected' | 'disconnected';
  health: IntegrationHealth;
  doc: IntegrationState;
}
/** Scheduling state of the health checker (operational, not a projection: it is not rebuilt from events). */
export interface IntegrationHealthScheduleTable {
  integration_id: string;
  next_check_at: Date;
}
export interface IntegrationsTables {
  integrations: IntegrationsTable;
  integration_health_schedule: IntegrationHealthScheduleTable;
}

export const INTEGRATIONS_PROJECTION = 'integrations';

export async function applyIntegrationEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  const relevant = events.filter((e) => INTEGRATION_EVENT_TYPES.has(e.type));
  if (relevant.length === 0) return;
  const ids = [...new Set(relevant.map((e) => (e.data as { integration_id: string }).integration_id))];
  const rows = await trx.selectFrom('integrations').select(['id', 'doc']).where('id', 'in', ids).execute();
  const state = new Map<string, IntegrationState | undefined>(rows.map((r) => [r.id, r.doc]));
  for (const e of relevant) {
    const id = (e.data as { integration_id: string }).integration_id;
    state.set(id, evolveIntegration(state.get(id), e));
  }
  const out = [...state.values()]
    .filter((s): s is IntegrationState => s !== undefined)
    .map((s) => ({
      id: s.id,
      partner_id: s.partner_id,
      application_id: s.application_id,
      status: s.status,
      health: s.health.status,
      doc: JSON.stringify(s) as unknown as IntegrationState,
    }));
  if (out.length === 0) return;
  await trx
    .insertInto('integrations')
    .values(out)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        status: eb.ref('excluded.status'),
        health: eb.ref('excluded.health'),
        doc: eb.ref('excluded.doc'),
      })),
    )
    .execute();
}

export function integrationsProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: INTEGRATIONS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'integration'),
    apply: applyIntegrationEvents,
    async reset(trx) {
      await trx.deleteFrom('integrations').execute();
    },
  };
}

export async function findIntegration(db: Kysely<RegistryDB>, id: string): Promise<Integration | undefined> {
  const row = await db.selectFrom('integrations').select('doc').where('id', '=', id).executeTakeFirst();
  return row ? toIntegration(row.doc) : undefined;
}

export async function listIntegrations(
  db: Kysely<RegistryDB>,
  q: { limit: number; starting_after?: string; partner_id?: string; application_id?: string; health?: IntegrationHealth },
): Promise<{ data: Integration[]; has_more: boolean }> {
  let query = db
    .selectFrom('integrations')
    .select(['id', 'doc'])
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('id', '>', q.starting_after);
  if (q.partner_id !== undefined) query = query.where('partner_id', '=', q.partner_id);
  if (q.application_id) query = query.where('application_id', '=', q.application_id);
  if (q.health) query = query.where('health', '=', q.health);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map((r) => toIntegration(r.doc)), has_more: rows.length > q.limit };
}
