import type { Agreement, Contact, ContactRole, Partner, PartnerStatus, StoredEvent } from '@pep/contracts';
import { aggregateFilter, foldBatch, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolvePartnerProfile, isPartnerEvent, type PartnerEvent, type PartnerProfile } from '../../domain/partner/partner.ts';
import { PARTNERS_PROJECTION, type PartnerContactsTable, type PartnersTable } from './table.ts';

export function rowToPartner(row: PartnersTable): Partner {
  return { object: 'partner', ...row };
}

function partnerToRow(p: PartnerProfile): PartnersTable {
  const { object: _o, ...row } = p;
  return row;
}

/**
 * Applies a batch of partner events: the rows they touch are loaded once, folded in memory with the same
 * `evolvePartnerProfile` the aggregate uses, and written back; then contacts and agreements, in stream order.
 * Runs inside the projection runner's transaction.
 */
export async function applyPartnerEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  await foldBatch(events, {
    handles: isPartnerEvent,
    idOf: (e) => e.data.partner_id,
    load: async (ids) =>
      (await trx.selectFrom('partners').selectAll().where('id', 'in', ids).execute()).map((r) => [r.id, rowToPartner(r)] as const),
    evolve: evolvePartnerProfile,
    save: async (profiles) => {
      await trx
        .insertInto('partners')
        .values(profiles.map(partnerToRow))
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
      for (const e of events) if (isPartnerEvent(e)) await applyRelation(trx, e);
    },
  });
}

/** Contacts and agreements: one row each, written in stream order inside the same transaction. */
async function applyRelation(trx: Transaction<RegistryDB>, e: StoredEvent & PartnerEvent): Promise<void> {
  if (e.type === 'partner.contact_added') {
    const d = e.data;
    await trx
      .insertInto('partner_contacts')
      .values({
        id: d.contact_id,
        partner_id: d.partner_id,
        name: d.name,
        email: d.email,
        role: d.role,
        phone: d.phone ?? null,
        created_at: e.time,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  } else if (e.type === 'partner.contact_removed') {
    await trx.deleteFrom('partner_contacts').where('id', '=', e.data.contact_id).execute();
  } else if (e.type === 'partner.agreement_signed') {
    const d = e.data;
    await trx
      .insertInto('partner_agreements')
      .values({
        id: d.agreement_id,
        partner_id: d.partner_id,
        version: d.version,
        title: d.title,
        signed_at: d.signed_at,
        signed_by: d.signed_by,
        effective_at: d.effective_at,
        expires_at: d.expires_at,
        first_year_pct: d.revenue_share.first_year_pct,
        renewal_pct: d.revenue_share.renewal_pct,
        terms_url: d.terms_url ?? null,
        supersedes: d.supersedes,
        superseded_by: null,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    if (d.supersedes) {
      await trx.updateTable('partner_agreements').set({ superseded_by: d.agreement_id }).where('id', '=', d.supersedes).execute();
    }
  }
}

export function partnersProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: PARTNERS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'partner'),
    // Declared, the read model can be rebuilt beside the live one (`npm run ops -- rebuild … --beside`).
    tables: ['partners', 'partner_contacts', 'partner_agreements'],
    apply: applyPartnerEvents,
    async reset(trx) {
      await trx.deleteFrom('partner_agreements').execute();
      await trx.deleteFrom('partner_contacts').execute();
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

export function rowToContact(r: PartnerContactsTable): Contact {
  return { object: 'contact', ...r };
}

export async function listContacts(
  db: Kysely<RegistryDB>,
  q: { partner_id: string; limit: number; starting_after?: string; role?: ContactRole },
): Promise<{ data: Contact[]; has_more: boolean }> {
  let query = db
    .selectFrom('partner_contacts')
    .selectAll()
    .where('partner_id', '=', q.partner_id)
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('id', '>', q.starting_after);
  if (q.role) query = query.where('role', '=', q.role);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map(rowToContact), has_more: rows.length > q.limit };
}

/** Email addresses of a partner's contacts in the given roles (the profile's contact email when none). */
export async function contactEmails(db: Kysely<RegistryDB>, partnerId: string, roles: ContactRole[]): Promise<string[]> {
  const rows = await db
    .selectFrom('partner_contacts')
    .select('email')
    .where('partner_id', '=', partnerId)
    .where('role', 'in', roles)
    .orderBy('id')
    .execute();
  if (rows.length > 0) return [...new Set(rows.map((r) => r.email))];
  const p = await db.selectFrom('partners').select('contact_email').where('id', '=', partnerId).executeTakeFirst();
  return p ? [p.contact_email] : [];
}

/** An agreement's status follows from its dates and whether a later version has taken effect. */
export function agreementStatus(
  a: { effective_at: string; expires_at: string | null },
  successorEffectiveAt: string | null,
  now: Date,
): Agreement['status'] {
  const t = now.getTime();
  if (successorEffectiveAt && Date.parse(successorEffectiveAt) <= t) return 'superseded';
  if (Date.parse(a.effective_at) > t) return 'scheduled';
  if (a.expires_at && Date.parse(a.expires_at) <= t) return 'expired';
  return 'active';
}

export async function listAgreements(
  db: Kysely<RegistryDB>,
  q: { partner_id: string; limit: number; starting_after?: string },
  now: Date,
): Promise<{ data: Agreement[]; has_more: boolean }> {
  const all = await db
    .selectFrom('partner_agreements')
    .selectAll()
    .where('partner_id', '=', q.partner_id)
    .orderBy('version', 'desc')
    .execute();
  const byId = new Map(all.map((r) => [r.id, r]));
  let rows = all;
  if (q.starting_after) {
    const cursor = byId.get(q.starting_after);
    rows = cursor ? all.filter((r) => r.version < cursor.version) : [];
  }
  const page = rows.slice(0, q.limit).map(
    (r): Agreement => ({
      id: r.id,
      object: 'agreement',
      partner_id: r.partner_id,
      version: r.version,
      title: r.title,
      status: agreementStatus(r, r.superseded_by ? (byId.get(r.superseded_by)?.effective_at ?? null) : null, now),
      signed_at: r.signed_at,
      signed_by: r.signed_by,
      effective_at: r.effective_at,
      expires_at: r.expires_at,
      revenue_share: { first_year_pct: r.first_year_pct, renewal_pct: r.renewal_pct },
      terms_url: r.terms_url,
      supersedes: r.supersedes,
      superseded_by: r.superseded_by,
    }),
  );
  return { data: page, has_more: rows.length > q.limit };
}
