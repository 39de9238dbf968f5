import type { PricingPlan } from '@pep/contracts';
import { type Kysely, sql } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';

export const RATING_COLUMNS = ['review_count', 'rating_sum', 'r1', 'r2', 'r3', 'r4', 'r5'] as const;

export interface ListingRow {
  listing_id: string;
  application_id: string;
  partner_id: string;
  partner_name: string | null;
  name: string;
  tagline: string | null;
  description: string;
  description_html: string;
  categories: string[];
  pricing: string | null;
  official: boolean;
  status: 'published' | 'deprecated' | 'retired';
  status_reason: string | null;
  privacy_url: string | null;
  terms_url: string | null;
  logo_url: string | null;
  screenshots: string[];
  support_email: string | null;
  documentation_url: string | null;
  pricing_plans: PricingPlan[];
  featured_from: Date | string | null;
  featured_until: Date | string | null;
  unlisted: boolean;
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

/** Listings with their partner's name, stats and ratings, as every read of a listing selects them. */
function listingsWithStats(db: Kysely<MarketplaceDB>) {
  return db
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
      'l.description_html',
      'l.categories',
      'l.pricing',
      'l.official',
      'l.status',
      'l.status_reason',
      'l.privacy_url',
      'l.terms_url',
      'l.logo_url',
      'l.screenshots',
      'l.support_email',
      'l.documentation_url',
      'l.pricing_plans',
      'l.featured_from',
      'l.featured_until',
      'l.unlisted',
      'l.published_at',
      'l.updated_at',
      sql<number>`coalesce(s.active_installs, 0)`.as('active_installs'),
      sql<number>`coalesce(s.total_installs, 0)`.as('total_installs'),
      sql<number>`coalesce(s.trend_weight, 0)`.as('trend_weight'),
      ...RATING_COLUMNS.map((c) => sql<number>`coalesce(r.${sql.ref(c)}, 0)`.as(c)),
    ]);
}

/**
 * A listing with its partner's name and its stats. Shown (public) means neither retired nor unlisted; its partner
 * still reaches its unlisted listing (`includeUnlisted`), installs and reviews also a retired one (`includeRetired`).
 */
export async function findListing(
  db: Kysely<MarketplaceDB>,
  listingId: string,
  opts: { includeRetired?: boolean; includeUnlisted?: boolean } = {},
): Promise<ListingRow | undefined> {
  let q = listingsWithStats(db).where('l.listing_id', '=', listingId);
  if (!opts.includeRetired) q = q.where('l.status', '<>', 'retired');
  if (!opts.includeRetired && !opts.includeUnlisted) q = q.where('l.unlisted', '=', false);
  return q.executeTakeFirst();
}

/**
 * Featured listings: those whose admin window is open at `now` (soonest-ending last), then up to `limit` that meet
 * the criteria: published, at least FEATURED_MIN_REVIEWS visible reviews, a weighted rating of at least
 * FEATURED_MIN_RATING (`prior` is the marketplace-wide mean, C of the weighted rating) and a healthy integration
 * (no integration of its application down or degraded: projections/integration-health).
 */
export const FEATURED_MIN_REVIEWS = 5;
export const FEATURED_MIN_RATING = 4;

export async function featuredListings(
  db: Kysely<MarketplaceDB>,
  f: { now: Date; limit: number; prior: number | null; m: number },
): Promise<{ reason: 'curated' | 'criteria'; row: ListingRow }[]> {
  const curated = await listingsWithStats(db)
    .where('l.status', '=', 'published')
    .where('l.unlisted', '=', false)
    .where('l.featured_from', '<=', f.now)
    .where('l.featured_until', '>', f.now)
    .orderBy('l.featured_from', 'desc')
    .orderBy('l.listing_id')
    .limit(f.limit)
    .execute();
  const left = f.limit - curated.length;
  const prior = f.prior ?? 0;
  const criteria =
    left <= 0
      ? []
      : await listingsWithStats(db)
          .where('l.status', '=', 'published')
          .where('l.unlisted', '=', false)
          .where((eb) =>
            eb.or([eb('l.featured_until', 'is', null), eb('l.featured_until', '<=', f.now), eb('l.featured_from', '>', f.now)]),
          )
          .where(sql<boolean>`coalesce(r.review_count, 0) >= ${FEATURED_MIN_REVIEWS}`)
          // a healthy integration: none of the application's integrations is down or degraded now
          .where(
            sql<boolean>`not exists (select 1 from integration_health h where h.application_id = l.application_id and h.status in ('down', 'degraded'))`,
          )
          .where(sql<boolean>`(r.rating_sum + ${f.m} * ${prior}::float8) / (r.review_count + ${f.m}) >= ${FEATURED_MIN_RATING}`)
          .orderBy(sql`(r.rating_sum + ${f.m} * ${prior}::float8) / (r.review_count + ${f.m})`, 'desc')
          .orderBy('l.listing_id')
          .limit(left)
          .execute();
  return [...curated.map((row) => ({ reason: 'curated' as const, row })), ...criteria.map((row) => ({ reason: 'criteria' as const, row }))];
}
