import type { ListingContent, PlatformEvent } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { categoryAggregate, decideCategory } from '../src/domain/category/category.ts';
import { checklist } from '../src/domain/listing/checklist.ts';
import { decideListing, type ListingCommand } from '../src/domain/listing/decide.ts';
import { evolveListing, initialListing, type ListingAggregateState, type ListingEvent } from '../src/domain/listing/listing-aggregate.ts';
import { decideReview } from '../src/domain/review/decide.ts';
import { evolveReview, initialReview, type ReviewEvent } from '../src/domain/review/review.ts';

const now = new Date('2026-12-01T10:00:00.000Z');
const listing = {
  listing_id: 'lst_1x000000000000000000000000',
  application_id: 'app_1x000000000000000000000000',
  partner_id: 'prt_1x000000000000000000000000',
};
const complete: ListingContent = {
  tagline: 'Leads in, deals out',
  description: 'A detailed description. '.repeat(10),
  logo_url: 'https://cdn.example.com/logo.png',
  screenshots: ['https://cdn.example.com/1.png', 'https://cdn.example.com/2.png', 'https://cdn.example.com/3.png'],
  categories: ['leads'],
  support_email: 'help@example.com',
  documentation_url: 'https://docs.example.com',
  privacy_url: 'https://example.com/privacy',
  terms_url: 'https://example.com/terms',
  pricing_plans: [{ name: 'Free', model: 'free', amount: 0, currency: 'USD', interval: null, unit: null, trial_days: 0 }],
};
const known = new Set(['leads', 'claims']);
const envelope = (e: ListingEvent | ReviewEvent): PlatformEvent => ({
  specversion: '1.0',
  id: 'evt_1',
  source: 'urn:test',
  type: e.type,
  time: now.toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data: e.data,
});
const listingSpec = deciderSpec<ListingAggregateState, ListingCommand, ListingEvent>({
  decide: decideListing,
  evolve: (state, event) => evolveListing(state, envelope(event)),
  initialState: initialListing,
});
const save = (draft: ListingContent): ListingCommand => ({ type: 'SaveDraft', listing, draft, knownCategories: known, by: 'key_p', now });
const publish: ListingCommand = { type: 'PublishDraft', listing, by: 'key_p', now };
const fieldsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.errors.map((e) => e.path);
    throw err;
  }
  throw new Error('expected a ValidationError');
};

describe('listing decider', () => {
  it('saves a draft that names known categories; names each unknown one', () => {
    const [saved] = listingSpec.given().when(save(complete)).events();
    expect(saved).toMatchObject({ type: 'listing.draft_saved', data: { ...listing, draft: complete, saved_by: 'key_p' } });
    expect(
      fieldsOf(() =>
        listingSpec
          .given()
          .when(save({ ...complete, categories: ['leads', 'nope', 'gone'] }))
          .events(),
      ),
    ).toEqual(['categories.1', 'categories.2']);
    listingSpec
      .given([saved as ListingEvent])
      .when(save(complete))
      .thenEvents([]);
  });

  it('refuses to publish naming every missing checklist item, and publishes a complete draft', () => {
    expect(fieldsOf(() => listingSpec.given().when(publish).events())).toEqual([
      'logo_url',
      'description',
      'screenshots',
      'pricing_plans',
      'support_email',
      'privacy_url',
      'terms_url',
    ]);
    const partial = { ...complete, logo_url: null, screenshots: complete.screenshots.slice(0, 2) };
    const draft = listingSpec.given().when(save(partial)).events()[0] as ListingEvent;
    expect(fieldsOf(() => listingSpec.given([draft]).when(publish).events())).toEqual(['logo_url', 'screenshots']);
    const ready = listingSpec.given().when(save(complete)).events()[0] as ListingEvent;
    const [published] = listingSpec.given([ready]).when(publish).events();
    expect(published).toMatchObject({
      type: 'listing.published',
      data: { ...listing, content: complete, published_at: now.toISOString() },
    });
    // Published and unchanged: nothing to publish; changed: listing.updated.
    listingSpec
      .given([ready, published as ListingEvent])
      .when(publish)
      .thenEvents([]);
    const edit = listingSpec
      .given([ready, published as ListingEvent])
      .when(save({ ...complete, tagline: 'New tagline' }))
      .events()[0] as ListingEvent;
    expect(
      listingSpec
        .given([ready, published as ListingEvent, edit])
        .when(publish)
        .events()[0]?.type,
    ).toBe('listing.updated');
    expect(checklist(complete).every((c) => c.ok)).toBe(true);
  });

  it('features a published listing for a window, not a deprecated one; ends an open window once', () => {
    const feature = (status: 'published' | 'deprecated'): ListingCommand => ({
      type: 'FeatureListing',
      listing: { ...listing, status },
      from: '2026-12-01T00:00:00.000Z',
      until: '2026-12-08T00:00:00.000Z',
      by: 'key_admin',
      now,
    });
    const [featured] = listingSpec.given().when(feature('published')).events();
    expect(featured?.type).toBe('listing.featured');
    listingSpec.given().when(feature('deprecated')).thenThrows(IllegalTransitionError);
    listingSpec
      .given([featured as ListingEvent])
      .when(feature('published'))
      .thenEvents([]);
    const unfeature: ListingCommand = { type: 'UnfeatureListing', listing, by: 'key_admin', now };
    const [ended] = listingSpec
      .given([featured as ListingEvent])
      .when(unfeature)
      .events();
    expect(ended?.type).toBe('listing.unfeatured');
    listingSpec
      .given([featured as ListingEvent, ended as ListingEvent])
      .when(unfeature)
      .thenEvents([]);
  });
});

describe('unlisting', () => {
  it('unlists and relists once each', () => {
    const unlist: ListingCommand = { type: 'UnlistListing', listing, by: 'key_p', now };
    const relist: ListingCommand = { type: 'RelistListing', listing, by: 'key_p', now };
    listingSpec.given().when(relist).thenEvents([]);
    const [off] = listingSpec.given().when(unlist).events();
    expect(off).toMatchObject({ type: 'listing.unlisted', data: { ...listing, unlisted_by: 'key_p' } });
    expect(listingSpec.given([off as ListingEvent]).state.unlisted).toBe(true);
    listingSpec
      .given([off as ListingEvent])
      .when(unlist)
      .thenEvents([]);
    expect(
      listingSpec
        .given([off as ListingEvent])
        .when(relist)
        .events()[0]?.type,
    ).toBe('listing.relisted');
  });
});

describe('category decider', () => {
  const define = (slug: string, parent: string | null) =>
    decideCategory({ type: 'DefineCategory', slug, name: 'Leads', parent, known, by: 'key_admin', now }, categoryAggregate.initial());
  it('defines a category under a known parent only', () => {
    expect(define('hot-leads', 'leads')[0]).toMatchObject({
      type: 'marketplace.category_defined',
      data: { slug: 'hot-leads', parent: 'leads' },
    });
    expect(() => define('hot-leads', 'nope')).toThrow(ValidationError);
    expect(() => define('leads', 'leads')).toThrow(ValidationError);
  });
  it('removes a category without children; refuses one with children or none at all', () => {
    const state = categoryAggregate.initial();
    expect(() => decideCategory({ type: 'RemoveCategory', slug: 'leads', children: [], by: 'a', now }, state)).toThrow(NotFoundError);
    const defined = { defined: { name: 'Leads', parent: null } };
    expect(() => decideCategory({ type: 'RemoveCategory', slug: 'leads', children: ['hot-leads'], by: 'a', now }, defined)).toThrow(
      ConflictError,
    );
    expect(decideCategory({ type: 'RemoveCategory', slug: 'leads', children: [], by: 'a', now }, defined)[0]?.type).toBe(
      'marketplace.category_removed',
    );
  });
});

describe('review moderation', () => {
  const ref = { review_id: 'rev_1', listing_id: listing.listing_id, partner_id: listing.partner_id, customer_id: 'cus_1' };
  const submitted: ReviewEvent = { type: 'review.submitted', data: { ...ref, rating: 2, body: 'meh', submitted_at: now.toISOString() } };
  const state = (...events: ReviewEvent[]) => events.map(envelope).reduce(evolveReview, initialReview());
  it('reports (counted each time), hides once and shows again once, carrying the rating', () => {
    const [reported] = decideReview(
      { type: 'ReportReview', review_id: 'rev_1', reason: 'spam', note: null, by: 'key_p', now },
      state(submitted),
    );
    expect(reported).toMatchObject({ type: 'review.reported', data: { ...ref, reason: 'spam' } });
    expect(state(submitted, reported as ReviewEvent).review?.reports).toBe(1);
    const hide = { type: 'HideReview' as const, review_id: 'rev_1', reason: 'spam', by: 'key_admin', now };
    const [hidden] = decideReview(hide, state(submitted));
    expect(hidden).toMatchObject({ type: 'review.hidden', data: { rating: 2 } });
    expect(decideReview(hide, state(submitted, hidden as ReviewEvent))).toEqual([]);
    const unhide = { type: 'UnhideReview' as const, review_id: 'rev_1', by: 'key_admin', now };
    expect(decideReview(unhide, state(submitted))).toEqual([]);
    expect(decideReview(unhide, state(submitted, hidden as ReviewEvent))[0]?.type).toBe('review.unhidden');
    expect(() => decideReview(hide, state())).toThrow(NotFoundError);
  });
});
