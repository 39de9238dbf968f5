import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { sql, type Transaction } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { pricingModelOf } from '../../domain/listing/checklist.ts';
import { isOfficialPartnerType, listingChangeOf } from '../../domain/listing/listing.ts';
import { isListingEvent, type ListingEvent } from '../../domain/listing/listing-aggregate.ts';
import { renderDescription } from '../../domain/listing/markdown.ts';
import { dictionaryWords } from '../../domain/listing/words.ts';

export const CATALOG_PROJECTION = 'marketplace-catalog';

/** The event types the catalog applies; everything else on its filter is skipped. */
export const CATALOG_EVENT_TYPES = [
  'partner.created',
  'partner.updated',
  'application.published',
  'application.deprecated',
  'application.retired',
  'listing.published',
  'listing.updated',
  'listing.featured',
  'listing.unfeatured',
  'listing.unlisted',
  'listing.relisted',
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
    tables: ['listings', 'partners', 'search_words'],
    async reset(trx) {
      await trx.deleteFrom('listings').execute();
      await trx.deleteFrom('partners').execute();
      await trx.deleteFrom('search_words').execute();
    },
  };
}

/**
 * Adds the words of names and taglines to the typo dictionary. Only added, never removed: a word no listing
 * carries any more corrects a query to nothing, which costs one index probe; a rebuild drops them.
 */
async function addSearchWords(trx: Transaction<MarketplaceDB>, texts: (string | null)[]): Promise<void> {
  const words = [...new Set(texts.flatMap((t) => (t ? dictionaryWords(t) : [])))];
  if (words.length === 0) return;
  await trx
    .insertInto('search_words')
    .values(words.map((word) => ({ word })))
    .onConflict((oc) => oc.column('word').doNothing())
    .execute();
}

/** The listing's own events: its published content and its featured window (a draft changes nothing here). */
async function applyListingEvent(trx: Transaction<MarketplaceDB>, e: ListingEvent, time: string, seq: number): Promise<void> {
  const row = trx.updateTable('listings').where('listing_id', '=', e.data.listing_id);
  switch (e.type) {
    case 'listing.published':
    case 'listing.updated': {
      const c = e.data.content;
      await row
        .set({
          tagline: c.tagline,
          ...(c.description ? { description: c.description, description_html: renderDescription(c.description) } : {}),
          categories: c.categories,
          pricing: pricingModelOf(c),
          pricing_plans: JSON.stringify(c.pricing_plans),
          logo_url: c.logo_url,
          screenshots: c.screenshots,
          support_email: c.support_email,
          documentation_url: c.documentation_url,
          privacy_url: c.privacy_url,
          terms_url: c.terms_url,
          content_published_at: e.data.published_at,
          updated_at: time,
          version: seq,
        })
        .execute();
      await addSearchWords(trx, [c.tagline]);
      return;
    }
    case 'listing.featured':
      await row.set({ featured_from: e.data.from, featured_until: e.data.until, version: seq }).execute();
      return;
    case 'listing.unfeatured':
      await row.set({ featured_from: null, featured_until: null, version: seq }).execute();
      return;
    case 'listing.unlisted':
    case 'listing.relisted':
      await row.set({ unlisted: e.type === 'listing.unlisted', updated_at: time, version: seq }).execute();
      return;
    case 'listing.draft_saved':
      return;
    default: {
      const never: never = e;
      return never;
    }
  }
}

async function applyOne(trx: Transaction<MarketplaceDB>, e: StoredEvent): Promise<void> {
  if (isListingEvent(e)) return applyListingEvent(trx, e, e.time, e.seq);
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
    const c = change.content;
    const content = {
      tagline: c.tagline,
      description: c.description ?? '',
      description_html: renderDescription(c.description),
      logo_url: c.logo_url,
      screenshots: c.screenshots,
      categories: c.categories,
      support_email: c.support_email,
      documentation_url: c.documentation_url,
      privacy_url: c.privacy_url,
      terms_url: c.terms_url,
      pricing: pricingModelOf(c),
      pricing_plans: JSON.stringify(c.pricing_plans),
    };
    // Once the listing's own content is live (listing.published), it wins over the application's snapshot.
    const keepContent = (col: keyof typeof content) =>
      sql<never>`case when listings.content_published_at is null then excluded.${sql.ref(col)} else listings.${sql.ref(col)} end`;
    const status = {
      status: 'published' as const,
      status_reason: null,
      updated_at: e.time,
      version: e.seq,
    };
    await trx
      .insertInto('listings')
      .values({
        name: change.name,
        ...content,
        ...status,
        listing_id: change.listing_id,
        application_id: change.application_id,
        partner_id: change.partner_id,
        official: isOfficialPartnerType(partner?.type),
        // The first publish date stays: "new" means new to the marketplace, not re-published.
        published_at: change.published_at,
      })
      .onConflict((oc) =>
        oc.column('listing_id').doUpdateSet({
          ...status,
          name: change.name,
          ...Object.fromEntries(Object.keys(content).map((col) => [col, keepContent(col as keyof typeof content)])),
        }),
      )
      .execute();
    await addSearchWords(trx, [change.name, c.tagline]);
    return;
  }
  await trx
    .updateTable('listings')
    .set({ status: change.status, status_reason: change.reason, updated_at: e.time, version: e.seq })
    .where('listing_id', '=', change.listing_id)
    .execute();
}

export { FEATURED_MIN_RATING, FEATURED_MIN_REVIEWS, featuredListings, findListing, type ListingRow, RATING_COLUMNS } from './queries.ts';
