import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { isOfficialPartnerType, listingChangeOf } from '../../domain/listing/listing.ts';

export const CATALOG_PROJECTION = 'marketplace-catalog';

/** The event types the catalog applies; everything else on its filter is skipped. */
export const CATALOG_EVENT_TYPES = [
  'partner.created',
  'partner.updated',
  'application.published',
  'application.deprecated',
  'application.retired',
] as const;

/**
 * Partners and the listings that follow their applications. One projection over every aggregate subject
 * (nats-server 2.9 allows one filter per consumer), so a partner's type is always known, in stream order,
 * before its applications are published, and the official badge is set on the row.
 */
export function catalogProjection(prefix: string): Projection<MarketplaceDB> {
  return {
    name: CATALOG_PROJECTION,
    filterSubject: aggregateFilter(prefix),
    async apply(trx: Transaction<MarketplaceDB>, events: StoredEvent[]) {
      for (const e of events) await applyOne(trx, e);
    },
    async reset(trx) {
      await trx.deleteFrom('listings').execute();
      await trx.deleteFrom('partners').execute();
    },
  };
}

async function applyOne(trx: Transaction<MarketplaceDB>, e: StoredEvent): Promise<void> {
  if (e.type === 'partner.created' || e.type === 'partner.updated') {
    const d = e.data as { partner_id: string; name?: string; type?: string };
    if (e.type === 'partner.created') {
      await trx
        .insertInto('partners')
        .values({ partner_id: d.partner_id, name: d.name ?? '', type: d.type ?? '' })
        .onConflict((oc) => oc.column('partner_id').doUpdateSet({ name: d.name ?? '', type: d.type ?? '' }))
        .execute();
    } else {
      const set = { ...(d.name !== undefined ? { name: d.name } : {}), ...(d.type !== undefined ? { type: d.type } : {}) };
      if (Object.keys(set).length > 0) await trx.updateTable('partners').set(set).where('partner_id', '=', d.partner_id).execute();
    }
    if (d.type !== undefined) {
      await trx
        .updateTable('listings')
        .set({ official: isOfficialPartnerType(d.type) })
        .where('partner_id', '=', d.partner_id)
        .execute();
    }
    return;
  }
  const change = listingChangeOf(e);
  if (!change) return;
  if (change.kind === 'published') {
    const partner = await trx.selectFrom('partners').select('type').where('partner_id', '=', change.partner_id).executeTakeFirst();
    const fields = {
      name: change.name,
      description: change.description,
      privacy_url: change.privacy_url,
      terms_url: change.terms_url,
      status: 'published' as const,
      status_reason: null,
      updated_at: e.time,
      version: e.seq,
    };
    await trx
      .insertInto('listings')
      .values({
        ...fields,
        listing_id: change.listing_id,
        application_id: change.application_id,
        partner_id: change.partner_id,
        official: isOfficialPartnerType(partner?.type),
        // The first publish date stays: "new" means new to the marketplace, not re-published.
        published_at: change.published_at,
      })
      .onConflict((oc) => oc.column('listing_id').doUpdateSet(fields))
      .execute();
    return;
  }
  await trx
    .updateTable('listings')
    .set({ status: change.status, status_reason: change.reason, updated_at: e.time, version: e.seq })
    .where('listing_id', '=', change.listing_id)
    .execute();
}

export const RATING_COLUMNS = ['review_count', 'rating_sum', 'r1', 'r2', 'r3', 'r4', 'r5'] as const;

export interface ListingRow {
  listing_id: string;
  application_id: string;
  partner_id: string;
  partner_name: string | null;
  name: string;
  tagline: string | null;
  description: string;
  categories: string[];
  pricing: string | null;
  official: boolean;
  status: 'published' | 'deprecated' | 'retired';
  status_reason: string | null;
  privacy_url: string | null;
  terms_url: string | null;
  published_at: Date | string;
  updated_at: Date | string;
  active_installs: number;
  total_installs: number;
  trend_weight: number;
  review_count: number;
  rating_sum: number;
  r1: number;
  r2: number;
  r3: number;
  r4: number;
  r5: number;
}

/** A listing with its partner's name and its stats; retired ones only when asked for. */
export async function findListing(
  db: Kysely<MarketplaceDB>,
  listingId: string,
  opts: { includeRetired?: boolean } = {},
): Promise<ListingRow | undefined> {
  let q = db
    .selectFrom('listings as l')
    .leftJoin('partners as p', 'p.partner_id', 'l.partner_id')
    .leftJoin('listing_stats as s', 's.listing_id', 'l.listing_id')
    .leftJoin('listing_ratings as r', 'r.listing_id', 'l.listing_id')
    .select([
      'l.listing_id',
      'l.application_id',
      'l.partner_id',
      'p.name as partner_name',
      'l.name',
      'l.tagline',
      'l.description',
      'l.categories',
      'l.pricing',
      'l.official',
      'l.status',
      'l.status_reason',
      'l.privacy_url',
      'l.terms_url',
      'l.published_at',
      'l.updated_at',
      sql<number>`coalesce(s.active_installs, 0)`.as('active_installs'),
      sql<number>`coalesce(s.total_installs, 0)`.as('total_installs'),
      sql<number>`coalesce(s.trend_weight, 0)`.as('trend_weight'),
      ...RATING_COLUMNS.map((c) => sql<number>`coalesce(r.${sql.ref(c)}, 0)`.as(c)),
    ])
    .where('l.listing_id', '=', listingId);
  if (!opts.includeRetired) q = q.where('l.status', '<>', 'retired');
  return (await q.executeTakeFirst()) as ListingRow | undefined;
}
