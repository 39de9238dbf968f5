import type { Partner, PartnerStatus, StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import { evolvePartner, PARTNER_EVENT_TYPES, type PartnerState } from '../../domain/partner/partner.ts';
import type { RegistryDB } from '../../db/schema.ts';

/** Row of the `partners` read model: the partner as the API shows it. */
export interface PartnersTable {
  id: string;
  name: string;
  type: Partner['type'];
  tier: Partner['tier'];
  contact_email: string;
  status: PartnerStatus;
  status_reason: string | null;
  version: number;
  created_at: string;
  updated_at: string;
}
export interface PartnersTables {
  partners: PartnersTable;
}

export const PARTNERS_PROJECTION = 'partners';
export const handledEventTypes = PARTNER_EVENT_TYPES;

export function rowToPartner(row: PartnersTable): Partner {
  return { object: 'partner', ...row };
}

function partnerToRow(p: PartnerState): PartnersTable {
  const { object: _o, ...row } = p;
  return row;
}

/**
 * Applies a batch of partner events: the rows they touch are loaded once, folded in memory with the same
 * `evolvePartner` the aggregate uses, and written back. Runs inside the projection runner's transaction.
 */
export async function applyPartnerEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  const relevant = events.filter((e) => PARTNER_EVENT_TYPES.has(e.type));
  if (relevant.length === 0) return;
  const ids = [...new Set(relevant.map((e) => (e.data as { partner_id: string }).partner_id))];
  const rows = await trx.selectFrom('partners').selectAll().where('id', 'in', ids).execute();
  const state = new Map<string, PartnerState | undefined>(rows.map((r) => [r.id, rowToPartner(r)]));
  for (const e of relevant) {
    const id = (e.data as { partner_id: string }).partner_id;
    state.set(id, evolvePartner(state.get(id), e));
  }
  const out = [...state.values()].filter((p): p is PartnerState => p !== undefined).map(partnerToRow);
  if (out.length === 0) return;
  await trx
    .insertInto('partners')
    .values(out)
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        name: eb.ref('excluded.name'),
        type: eb.ref('excluded.type'),
        tier: eb.ref('excluded.tier'),
        contact_email: eb.ref('excluded.contact_email'),
        status: eb.ref('excluded.status'),
        status_reason: eb.ref('excluded.status_reason'),
        version: eb.ref('excluded.version'),
        created_at: eb.ref('excluded.created_at'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

export function partnersProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: PARTNERS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'partner'),
    apply: applyPartnerEvents,
    async reset(trx) {
      await trx.deleteFrom('partners').execute();
    },
  };
}

// Queries -------------------------------------------------------------------------------------------

export async function findPartner(db: Kysely<RegistryDB>, id: string): Promise<Partner | undefined> {
  const row = await db.selectFrom('partners').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? rowToPartner(row) : undefined;
}

/** Cursor page ordered by id (ids are time-sortable ULIDs, so this is creation order). */
export async function listPartners(
  db: Kysely<RegistryDB>,
  q: { limit: number; starting_after?: string; status?: PartnerStatus; only_id?: string },
): Promise<{ data: Partner[]; has_more: boolean }> {
  let query = db
    .selectFrom('partners')
    .selectAll()
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('id', '>', q.starting_after);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.only_id !== undefined) query = query.where('id', '=', q.only_id);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map(rowToPartner), has_more: rows.length > q.limit };
}
