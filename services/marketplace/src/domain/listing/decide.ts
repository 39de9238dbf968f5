import type { ListingContent } from '@pep/contracts';
import { IllegalTransitionError, ValidationError } from '@pep/runtime';
import { checklist } from './checklist.ts';
import type { ListingAggregateState, ListingEvent, ListingRef } from './listing-aggregate.ts';
import type { ListingStatus } from './listing.ts';

export type ListingCommand =
  | { type: 'SaveDraft'; listing: ListingRef; draft: ListingContent; knownCategories: ReadonlySet<string>; by: string; now: Date }
  | {
      type: 'PublishDraft';
      listing: ListingRef;
      by: string;
      now: Date;
      /** What the application's snapshot states (the catalog row): published as is when nothing was drafted. */
      snapshot?: ListingContent | null;
    }
  | { type: 'FeatureListing'; listing: ListingRef & { status: ListingStatus }; from: string; until: string; by: string; now: Date }
  | { type: 'UnfeatureListing'; listing: ListingRef; by: string; now: Date }
  | { type: 'UnlistListing' | 'RelistListing'; listing: ListingRef; by: string; now: Date };

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Pure: a draft names only known categories; publishing needs every checklist item (one 422 names each missing
 * one) and makes the draft live (`listing.published` the first time, `listing.updated` after); only a published
 * (not deprecated) listing is featured. Saving the same draft, publishing what is live, or ending a window that
 * is not open decide nothing.
 */
export function decideListing(command: ListingCommand, state: ListingAggregateState): ListingEvent[] {
  switch (command.type) {
    case 'SaveDraft': {
      const unknown = command.draft.categories.map((slug, i) => ({ slug, i })).filter(({ slug }) => !command.knownCategories.has(slug));
      if (unknown.length > 0) {
        throw new ValidationError(
          unknown.map(({ slug, i }) => ({ path: `categories.${i}`, message: `"${slug}" is not a marketplace category` })),
        );
      }
      if (same(command.draft, state.draft ?? state.live)) return [];
      return [
        {
          type: 'listing.draft_saved',
          data: { ...command.listing, draft: command.draft, saved_by: command.by, saved_at: command.now.toISOString() },
        },
      ];
    }
    case 'PublishDraft': {
      const draft = state.draft ?? state.live ?? command.snapshot ?? null;
      const missing = checklist(draft).filter((c) => !c.ok);
      if (!draft || missing.length > 0) throw new ValidationError(missing.map((c) => ({ path: c.item, message: c.message })));
      if (state.live && same(draft, state.live)) return [];
      return [
        {
          type: state.live ? 'listing.updated' : 'listing.published',
          data: { ...command.listing, content: draft, published_by: command.by, published_at: command.now.toISOString() },
        },
      ];
    }
    case 'FeatureListing': {
      const { status, ...ref } = command.listing;
      if (status !== 'published') throw new IllegalTransitionError(`listing ${ref.listing_id} is ${status} and cannot be featured`);
      if (state.featured?.from === command.from && state.featured.until === command.until) return [];
      return [{ type: 'listing.featured', data: { ...ref, from: command.from, until: command.until, featured_by: command.by } }];
    }
    case 'UnfeatureListing': {
      if (!state.featured || Date.parse(state.featured.until) <= command.now.getTime()) return [];
      return [
        { type: 'listing.unfeatured', data: { ...command.listing, unfeatured_by: command.by, unfeatured_at: command.now.toISOString() } },
      ];
    }
    case 'UnlistListing': {
      if (state.unlisted) return [];
      return [{ type: 'listing.unlisted', data: { ...command.listing, unlisted_by: command.by, unlisted_at: command.now.toISOString() } }];
    }
    case 'RelistListing': {
      if (!state.unlisted) return [];
      return [{ type: 'listing.relisted', data: { ...command.listing, relisted_by: command.by, relisted_at: command.now.toISOString() } }];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
