import type { Application, ApplicationStatus, StoredEvent } from '@pep/contracts';
import { aggregateFilter, foldBatch, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolveApplication, isApplicationEvent } from '../../domain/application/application.ts';
import { APPLICATIONS_PROJECTION } from './table.ts';

/** Folds a batch with the aggregate's own `evolveApplication` and writes the touched rows back. */
export async function applyApplicationEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  await foldBatch(events, {
    handles: isApplicationEvent,
    idOf: (e) => e.data.application_id,
    load: async (ids) =>
      (await trx.selectFrom('applications').select(['id', 'doc']).where('id', 'in', ids).execute()).map((r) => [r.id, r.doc] as const),
    evolve: evolveApplication,
    save: async (apps) => {
      await trx
        .insertInto('applications')
        .values(apps.map((a) => ({ id: a.id, partner_id: a.partner_id, status: a.status, doc: JSON.stringify(a) })))
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            partner_id: eb.ref('excluded.partner_id'),
            doc: eb.ref('excluded.doc'),
          })),
        )
        .execute();
    },
  });
}

export function applicationsProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: APPLICATIONS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'application'),
    apply: applyApplicationEvents,
    async reset(trx) {
      await trx.deleteFrom('applications').execute();
    },
  };
}

export async function findApplication(db: Kysely<RegistryDB>, id: string): Promise<Application | undefined> {
  return (await db.selectFrom('applications').select('doc').where('id', '=', id).executeTakeFirst())?.doc;
}

export async function listApplications(
  db: Kysely<RegistryDB>,
  q: { limit: number; starting_after?: string; status?: ApplicationStatus; partner_id?: string },
): Promise<{ data: Application[]; has_more: boolean }> {
  let query = db
    .selectFrom('applications')
    .select(['id', 'doc'])
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('id', '>', q.starting_after);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.partner_id !== undefined) query = query.where('partner_id', '=', q.partner_id);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map((r) => r.doc), has_more: rows.length > q.limit };
}
