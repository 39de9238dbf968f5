import type { ListingContent, PlatformEvent } from '@pep/contracts';

/**
 * The listing aggregate (marketplace-owned): the partner's draft of the marketplace content, the live content,
 * and the admin's featured window. One per listing (`lst_…`); what the application contributes (name, status)
 * stays with the application's own events, which the catalog follows.
 */
export const LISTING_AGGREGATE = 'listing';

export interface ListingRef {
  listing_id: string;
  application_id: string;
  partner_id: string;
}

export interface ListingAggregateState {
  draft: ListingContent | null;
  saved_at: string | null;
  live: ListingContent | null;
  published_at: string | null;
  featured: { from: string; until: string } | null;
  unlisted: boolean;
}

export type ListingEvent =
  | { type: 'listing.draft_saved'; data: ListingRef & { draft: ListingContent; saved_by: string; saved_at: string } }
  | {
      type: 'listing.published' | 'listing.updated';
      data: ListingRef & { content: ListingContent; published_by: string; published_at: string };
    }
  | { type: 'listing.featured'; data: ListingRef & { from: string; until: string; featured_by: string } }
  | { type: 'listing.unfeatured'; data: ListingRef & { unfeatured_by: string; unfeatured_at: string } }
  | { type: 'listing.unlisted'; data: ListingRef & { unlisted_by: string; unlisted_at: string } }
  | { type: 'listing.relisted'; data: ListingRef & { relisted_by: string; relisted_at: string } };

const LISTING_EVENT_TYPES: ReadonlySet<string> = new Set([
  'listing.draft_saved',
  'listing.published',
  'listing.updated',
  'listing.featured',
  'listing.unfeatured',
  'listing.unlisted',
  'listing.relisted',
]);

/** Narrows a stored event to a listing event by its type (the envelope was validated against the catalog). */
export function isListingEvent<E extends { type: string; data: unknown }>(e: E): e is E & ListingEvent {
  return LISTING_EVENT_TYPES.has(e.type);
}

export const initialListing = (): ListingAggregateState => ({
  draft: null,
  saved_at: null,
  live: null,
  published_at: null,
  featured: null,
  unlisted: false,
});

export function evolveListing(state: ListingAggregateState, event: PlatformEvent): ListingAggregateState {
  if (!isListingEvent(event)) return state;
  switch (event.type) {
    case 'listing.draft_saved':
      return { ...state, draft: event.data.draft, saved_at: event.data.saved_at };
    case 'listing.published':
    case 'listing.updated':
      return { ...state, draft: null, saved_at: null, live: event.data.content, published_at: event.data.published_at };
    case 'listing.featured':
      return { ...state, featured: { from: event.data.from, until: event.data.until } };
    case 'listing.unfeatured':
      return { ...state, featured: null };
    case 'listing.unlisted':
    case 'listing.relisted':
      return { ...state, unlisted: event.type === 'listing.unlisted' };
    default:
      return state;
  }
}

export const listingAggregate = {
  kind: LISTING_AGGREGATE,
  initial: initialListing,
  evolve: evolveListing,
  projection: 'marketplace-catalog',
};
