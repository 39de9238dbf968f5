import type { ListingContent, Principal } from '@pep/contracts';
import { NotFoundError } from '@pep/runtime';
import { assertVisible } from '@pep/service';
import { type CallMeta, marketplaceCommands, type UseCaseDeps } from './use-case-deps.ts';
import { decideListing } from '../domain/listing/decide.ts';
import { type ListingAggregateState, listingAggregate } from '../domain/listing/listing-aggregate.ts';
import { knownCategories } from '../projections/categories/index.ts';
import { findListing, type ListingRow } from '../projections/catalog/index.ts';

/** The content a catalog row shows, as a draft starts from it. */
function contentOfRow(r: ListingRow): ListingContent {
  return {
    tagline: r.tagline,
    description: r.description || null,
    logo_url: r.logo_url,
    screenshots: r.screenshots,
    categories: r.categories,
    support_email: r.support_email,
    documentation_url: r.documentation_url,
    privacy_url: r.privacy_url,
    terms_url: r.terms_url,
    pricing_plans: r.pricing_plans,
  };
}

/** Drafts, publishing and featuring: the listing (from the catalog) → its aggregate → pure decide → append. */
export function createListingUseCases(opts: UseCaseDeps) {
  const { commands, meta } = marketplaceCommands(opts);

  /** The listed listing a request names; a partner sees only its own (another partner's is 404). */
  const listingFor = async (listingId: string, principal: Principal) => {
    const listing = await findListing(opts.db, listingId, { includeUnlisted: true });
    if (!listing) throw new NotFoundError(`listing ${listingId} not found`);
    assertVisible(principal, listing.partner_id, `listing ${listingId}`);
    return listing;
  };
  const refOf = (l: { listing_id: string; application_id: string; partner_id: string }) => ({
    listing_id: l.listing_id,
    application_id: l.application_id,
    partner_id: l.partner_id,
  });

  return {
    async draft(listingId: string, principal: Principal): Promise<ListingAggregateState> {
      const listing = await listingFor(listingId, principal);
      const state = (await commands.load(listingAggregate, listingId)).state;
      // Nothing of the listing's own went live yet: the application's snapshot (what the catalog shows) is the start.
      return state.live ? state : { ...state, live: contentOfRow(listing) };
    },

    async saveDraft(listingId: string, principal: Principal, draft: ListingContent, m: CallMeta): Promise<ListingAggregateState> {
      const listing = await listingFor(listingId, principal);
      const known = await knownCategories(opts.db);
      const now = opts.now();
      const res = await commands.execute(listingAggregate, listingId, meta(listing.partner_id, m), (state) =>
        decideListing({ type: 'SaveDraft', listing: refOf(listing), draft, knownCategories: known, by: m.by, now }, state),
      );
      return res.state;
    },

    async publish(listingId: string, principal: Principal, m: CallMeta): Promise<void> {
      const listing = await listingFor(listingId, principal);
      const now = opts.now();
      await commands.execute(listingAggregate, listingId, meta(listing.partner_id, m), (state) =>
        decideListing({ type: 'PublishDraft', listing: refOf(listing), by: m.by, now, snapshot: contentOfRow(listing) }, state),
      );
    },

    async feature(listingId: string, principal: Principal, window: { from: string; until: string }, m: CallMeta): Promise<void> {
      const listing = await listingFor(listingId, principal);
      const now = opts.now();
      const command = {
        type: 'FeatureListing' as const,
        listing: { ...refOf(listing), status: listing.status },
        from: new Date(window.from).toISOString(),
        until: new Date(window.until).toISOString(),
        by: m.by,
        now,
      };
      await commands.execute(listingAggregate, listingId, meta(listing.partner_id, m), (state) => decideListing(command, state));
    },

    /** Takes the listing off the marketplace (`unlist: true`) or shows it again. */
    async setListed(listingId: string, principal: Principal, listed: boolean, m: CallMeta): Promise<ListingAggregateState> {
      const listing = await listingFor(listingId, principal);
      const now = opts.now();
      const type = listed ? ('RelistListing' as const) : ('UnlistListing' as const);
      const res = await commands.execute(listingAggregate, listingId, meta(listing.partner_id, m), (state) =>
        decideListing({ type, listing: refOf(listing), by: m.by, now }, state),
      );
      return res.state;
    },

    async unfeature(listingId: string, principal: Principal, m: CallMeta): Promise<void> {
      const listing = await listingFor(listingId, principal);
      const now = opts.now();
      await commands.execute(listingAggregate, listingId, meta(listing.partner_id, m), (state) =>
        decideListing({ type: 'UnfeatureListing', listing: refOf(listing), by: m.by, now }, state),
      );
    },
  };
}
export type ListingUseCases = ReturnType<typeof createListingUseCases>;
