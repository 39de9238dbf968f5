import type { Integration, IntegrationHealth, StoredEvent } from '@pep/contracts';
import { aggregateFilter, foldBatch, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolveIntegration, isIntegrationEvent, toIntegration } from '../../domain/integration/integration.ts';
import { INTEGRATIONS_PROJECTION } from './table.ts';

/** Folds a batch with the aggregate's own `evolveIntegration` and writes the touched rows back. */
export async function applyIntegrationEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  await foldBatch(events, {
    handles: isIntegrationEvent,
    idOf: (e) => e.data.integration_id,
    load: async (ids) =>
      (await trx.selectFrom('integrations').select(['id', 'doc']).where('id', 'in', ids).execute()).map((r) => [r.id, r.doc] as const),
    evolve: evolveIntegration,
    save: async (integrations) => {
      await trx
        .insertInto('integrations')
        .values(
          integrations.map((s) => ({
            id: s.id,
            partner_id: s.partner_id,
            application_id: s.application_id,
            status: s.status,
            health: s.health.status,
            doc: JSON.stringify(s),
          })),
        )
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            health: eb.ref('excluded.health'),
            doc: eb.ref('excluded.doc'),
          })),
        )
        .execute();
    },
  });
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
