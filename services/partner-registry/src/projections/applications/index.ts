import type { Application, ApplicationStatus, StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { APPLICATION_EVENT_TYPES, evolveApplication } from '../../domain/application/application.ts';

/** Row of the `applications` read model: indexed columns plus the application as the API shows it. */
export interface ApplicationsTable {
  id: string;
  partner_id: string;
  status: ApplicationStatus;
  doc: Application;
}
export interface ApplicationsTables {
  applications: ApplicationsTable;
}

export const APPLICATIONS_PROJECTION = 'applications';

/** Folds a batch with the aggregate's own `evolveApplication` and writes the touched rows back. */
export async function applyApplicationEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  const relevant = events.filter((e) => APPLICATION_EVENT_TYPES.has(e.type));
  if (relevant.length === 0) return;
  const ids = [...new Set(relevant.map((e) => (e.data as { application_id: string }).application_id))];
  const rows = await trx.selectFrom('applications').select(['id', 'doc']).where('id', 'in', ids).execute();
  const state = new Map<string, Application | undefined>(rows.map((r) => [r.id, r.doc]));
  for (const e of relevant) {
    const id = (e.data as { application_id: string }).application_id;
    state.set(id, evolveApplication(state.get(id), e));
  }
  const out = [...state.values()]
    .filter((a): a is Application => a !== undefined)
    .map((a) => ({ id: a.id, partner_id: a.partner_id, status: a.status, doc: JSON.stringify(a) as unknown as Application }));
  if (out.length === 0) return;
  await trx
    .insertInto('applications')
    .values(out)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        status: eb.ref('excluded.status'),
        partner_id: eb.ref('excluded.partner_id'),
        doc: eb.ref('excluded.doc'),
      })),
    )
    .execute();
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
