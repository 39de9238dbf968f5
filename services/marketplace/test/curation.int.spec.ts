import { aggregateFilter } from '@pep/events';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVIEWS_PROJECTION } from '../src/projections/reviews/index.ts';
import { admin, anonymous, type Marketplace, partnerPrincipal, readAll, startMarketplace, statusOf } from './support/marketplace.ts';

/** Drafts and the checklist, categories, featured listings, min_rating and review moderation, end to end in-process. */
type Problem = { status: number; errors?: { path: string }[] };
type ListingBody = {
  id: string;
  tagline: string | null;
  categories: string[];
  pricing: string | null;
  logo_url: string | null;
  pricing_plans: unknown[];
  featured: { from: string; until: string } | null;
  rating: { count: number; mean: number | null };
};
type Page = { data: { id: string }[]; total: number; facets: Record<string, { value: string; count: number }[]> };

const A = 'prt_ax000000000000000000000000';
const B = 'prt_bx000000000000000000000000';
let m: Marketplace;
let names: ReturnType<typeof testNames>;
let mine: string;
let theirs: string;

const content = {
  tagline: 'Quotes your policies in seconds',
  description:
    'Zephyrquote prices home and motor policies from the lead details, explains each premium, and hands the quote back to your CRM. '.repeat(
      2,
    ),
  logo_url: 'https://cdn.example.com/zq.png',
  screenshots: ['https://cdn.example.com/1.png', 'https://cdn.example.com/2.png', 'https://cdn.example.com/3.png'],
  categories: ['policies'],
  support_email: 'support@zq.example.com',
  documentation_url: 'https://docs.zq.example.com',
  privacy_url: 'https://zq.example.com/privacy',
  terms_url: 'https://zq.example.com/terms',
  pricing_plans: [{ name: 'Pro', model: 'flat', amount: 4900, interval: 'month', trial_days: 14 }],
};
const listingEvents = async () => (await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'listing'))).length;
const problemOf = (r: Awaited<ReturnType<Marketplace['call']>>): Problem => (r.ok ? { status: r.status } : r.problem);
const search = (query: Record<string, string>) => m.ok<Page>('listings.search', anonymous, { query });

beforeAll(async () => {
  names = testNames('mktc');
  m = await startMarketplace(names);
  for (const [slug, name] of [
    ['policies', 'Policies'],
    ['claims', 'Claims'],
  ] as const) {
    await m.ok('categories.define', admin, { params: { slug }, body: { name } });
  }
  await m.partner(A, 'technology');
  await m.partner(B);
  mine = await m.publish(A, 'app_zqx00000000000000000000000', { name: 'Zephyrquote', description: 'Policy quotes.' });
  theirs = await m.publish(B, 'app_c1x00000000000000000000000', { name: 'Claimly', description: 'Claims triage.' });
  await m.settle();
});
afterAll(async () => {
  await m?.stop();
});

describe('drafts and the pre-submission checklist', () => {
  it('names each missing checklist item and each unknown category with a 422, appending nothing', async () => {
    const before = await listingEvents();
    const empty = problemOf(await m.call('listings.draft.publish', partnerPrincipal(A), { params: { id: mine } }));
    expect(empty.status).toBe(422);
    // nothing drafted: the application's snapshot is checked; it states the privacy and terms URLs, nothing else
    expect(empty.errors?.map((e) => e.path)).toEqual(['logo_url', 'description', 'screenshots', 'pricing_plans', 'support_email']);
    const bad = problemOf(
      await m.call('listings.draft.save', partnerPrincipal(A), {
        params: { id: mine },
        body: { ...content, categories: ['policies', 'nope'] },
      }),
    );
    expect(bad).toMatchObject({ status: 422, errors: [{ path: 'categories.1' }] });
    const shape = problemOf(
      await m.call('listings.draft.save', partnerPrincipal(A), { params: { id: mine }, body: { logo_url: 'not a url' } }),
    );
    expect(shape).toMatchObject({ status: 422, errors: [{ path: 'logo_url' }] });
    expect(await listingEvents()).toBe(before);
  });

  it("refuses another partner's draft with 404 and changes nothing", async () => {
    const before = await listingEvents();
    const b = partnerPrincipal(B);
    expect(statusOf(await m.call('listings.draft.get', b, { params: { id: mine } }))).toBe(404);
    expect(statusOf(await m.call('listings.draft.save', b, { params: { id: mine }, body: content }))).toBe(404);
    expect(statusOf(await m.call('listings.draft.publish', b, { params: { id: mine } }))).toBe(404);
    expect(await listingEvents()).toBe(before);
  });

  it('keeps a draft off the live listing until it is published, then shows the content and finds it by tagline', async () => {
    const draft = await m.ok<{ ready: boolean; checklist: { ok: boolean }[] }>('listings.draft.save', partnerPrincipal(A), {
      params: { id: mine },
      body: { ...content, logo_url: null },
    });
    expect(draft.ready).toBe(false);
    expect(draft.checklist.filter((c) => !c.ok)).toHaveLength(1);
    expect((await m.ok<ListingBody>('listings.get', anonymous, { params: { id: mine } })).tagline).toBeNull();
    await m.ok('listings.draft.save', partnerPrincipal(A), { params: { id: mine }, body: content });
    const live = await m.ok<ListingBody>('listings.draft.publish', partnerPrincipal(A), { params: { id: mine } });
    expect(live).toMatchObject({ tagline: content.tagline, categories: ['policies'], pricing: 'free_trial', logo_url: content.logo_url });
    expect(live.pricing_plans).toEqual([{ ...content.pricing_plans[0], currency: 'USD', unit: null }]);
    const types = (await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'listing'))).map((e) => e.type);
    expect(types).toEqual(['listing.draft_saved', 'listing.draft_saved', 'listing.published']);

    const found = await search({ q: 'seconds' });
    expect(found.data.map((l) => l.id)).toEqual([mine]);
    expect((await search({ category: 'policies' })).data.map((l) => l.id)).toEqual([mine]);
    const cats = await m.ok<{ data: { slug: string; listings: number }[] }>('categories.list', anonymous);
    expect(cats.data).toEqual([
      expect.objectContaining({ slug: 'claims', listings: 0 }),
      expect.objectContaining({ slug: 'policies', listings: 1 }),
    ]);
    // A re-published application keeps the listing's own description.
    await m.publish(A, 'app_zqx00000000000000000000000', { name: 'Zephyrquote', description: 'Policy quotes v2.' });
    await m.settle();
    expect((await m.ok<{ description: string }>('listings.get', anonymous, { params: { id: mine } })).description).toBe(
      content.description.trim(),
    );
  });
});

describe('unlisting', () => {
  it('hides an unlisted listing from everyone but its partner, refuses installs, and shows it again when relisted', async () => {
    expect(statusOf(await m.call('listings.unlist', partnerPrincipal(B), { params: { id: mine } }))).toBe(404);
    const draft = await m.ok<{ unlisted: boolean }>('listings.unlist', partnerPrincipal(A), { params: { id: mine } });
    expect(draft.unlisted).toBe(true);
    expect(statusOf(await m.call('listings.get', anonymous, { params: { id: mine } }))).toBe(404);
    expect((await search({ q: 'Zephyrquote' })).total).toBe(0);
    expect(statusOf(await m.call('installs.create', admin, { params: { id: mine }, body: { customer_id: 'cus_unlisted' } }))).toBe(409);
    expect(statusOf(await m.call('listings.draft.get', partnerPrincipal(A), { params: { id: mine } }))).toBe(200);
    // Unlisting again changes nothing; relisting shows it again.
    const before = await listingEvents();
    await m.ok('listings.unlist', partnerPrincipal(A), { params: { id: mine } });
    expect(await listingEvents()).toBe(before);
    expect((await m.ok<ListingBody>('listings.relist', partnerPrincipal(A), { params: { id: mine } })).id).toBe(mine);
    expect((await search({ q: 'Zephyrquote' })).data.map((l) => l.id)).toEqual([mine]);
  });
});

describe('featured listings', () => {
  it("lists an admin's open window, and not once it is ended; a partner cannot feature", async () => {
    const window = { from: new Date(Date.now() - 60_000).toISOString(), until: new Date(Date.now() + 86_400_000).toISOString() };
    expect(
      statusOf(await m.call('listings.feature', admin, { params: { id: theirs }, body: { from: window.until, until: window.from } })),
    ).toBe(422);
    const shown = await m.ok<ListingBody>('listings.feature', admin, { params: { id: theirs }, body: window });
    expect(shown.featured).toEqual(window);
    const list = await m.ok<{ data: { reason: string; listing: { id: string } }[] }>('listings.featured', anonymous);
    expect(list.data.map((f) => [f.reason, f.listing.id])).toEqual([['curated', theirs]]);
    expect((await m.ok<ListingBody>('listings.unfeature', admin, { params: { id: theirs } })).featured).toBeNull();
    expect((await m.ok<{ data: unknown[] }>('listings.featured', anonymous)).data).toEqual([]);
  });
});

describe('ratings filter and review moderation', () => {
  const review = async (listing: string, customer: string, rating: number) => {
    await m.ok('installs.create', admin, { params: { id: listing }, body: { customer_id: customer } });
    return m.ok<{ id: string }>('reviews.submit', admin, { params: { id: listing }, body: { customer_id: customer, rating, body: 'ok' } });
  };

  it('filters by min_rating and counts rating bands; a hidden review is kept but neither shown nor counted', async () => {
    await review(mine, 'cus_1', 5);
    await review(mine, 'cus_2', 4);
    const low = await review(theirs, 'cus_3', 2);
    expect((await search({ min_rating: '4' })).data.map((l) => l.id)).toEqual([mine]);
    expect((await search({ min_rating: '1' })).total).toBe(2);
    expect((await search({})).facets.rating).toEqual([
      { value: '4', count: 1 },
      { value: '2', count: 1 },
    ]);

    // The listing's partner reports; another partner cannot; an admin hides, and shows it again.
    const reported = await m.ok<{ reports: number }>('reviews.report', partnerPrincipal(B), {
      params: { id: low.id },
      body: { reason: 'spam' },
    });
    expect(reported.reports).toBe(1);
    expect(statusOf(await m.call('reviews.report', partnerPrincipal(A), { params: { id: low.id }, body: { reason: 'spam' } }))).toBe(404);
    expect(statusOf(await m.call('reviews.report', partnerPrincipal(B), { params: { id: low.id }, body: { reason: 'rude' } }))).toBe(422);
    const hidden = await m.ok<{ hidden: boolean }>('reviews.hide', admin, { params: { id: low.id }, body: { reason: 'spam' } });
    expect(hidden.hidden).toBe(true);
    expect((await m.ok<ListingBody>('listings.get', anonymous, { params: { id: theirs } })).rating).toMatchObject({ count: 0, mean: null });
    expect((await m.ok<{ data: unknown[] }>('reviews.list', anonymous, { params: { id: theirs } })).data).toEqual([]);
    expect((await search({ min_rating: '1' })).data.map((l) => l.id)).toEqual([mine]);

    // The ratings equal a fold after a rebuild, hidden review included.
    const runner = m.projections.get(REVIEWS_PROJECTION);
    const ratings = () => m.db.selectFrom('listing_ratings').selectAll().orderBy('listing_id').execute();
    const before = await ratings();
    await runner?.rebuild({ from: 'start' });
    await runner?.waitFor(undefined, 20_000);
    expect(await ratings()).toEqual(before);

    await m.ok('reviews.unhide', admin, { params: { id: low.id } });
    expect((await m.ok<ListingBody>('listings.get', anonymous, { params: { id: theirs } })).rating).toMatchObject({ count: 1, mean: 2 });
  });
});
