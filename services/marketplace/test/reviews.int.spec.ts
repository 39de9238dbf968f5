import { aggregateFilter } from '@pep/events';
import { testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVIEWS_PROJECTION } from '../src/projections/reviews/index.ts';
import { admin, anonymous, type Marketplace, partnerPrincipal, readAll, startMarketplace, statusOf } from './support/marketplace.ts';

type ReviewBody = { id: string; rating: number; body: string; edits: number; response: { body: string } | null };
type ListingBody = {
  id: string;
  rating: { count: number; mean: number | null; bayesian: number | null; histogram: Record<string, number> };
};

let m: Marketplace;
let names: ReturnType<typeof testNames>;
let good: string;
let lucky: string;
let meh: string;

const install = (listing: string, customer: string) =>
  m.ok('installs.create', admin, { params: { id: listing }, body: { customer_id: customer } });
const review = (listing: string, customer: string, rating: number, body = 'text') =>
  m.call('reviews.submit', admin, { params: { id: listing }, body: { customer_id: customer, rating, body } });
const reviewEvents = async () => (await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'review'))).length;

beforeAll(async () => {
  names = testNames('mktr');
  m = await startMarketplace(names);
  await m.partner('prt_ax000000000000000000000000', 'technology');
  await m.partner('prt_bx000000000000000000000000');
  good = await m.publish('prt_ax000000000000000000000000', 'app_g00dx000000000000000000000', {
    name: 'Good Tool',
    description: 'Consistently good.',
  });
  lucky = await m.publish('prt_bx000000000000000000000000', 'app_7vckyx00000000000000000000', {
    name: 'Lucky Tool',
    description: 'One fan.',
  });
  meh = await m.publish('prt_bx000000000000000000000000', 'app_mehx0000000000000000000000', {
    name: 'Meh Tool',
    description: 'Average at best.',
  });
  await m.settle();
});
afterAll(async () => {
  await m?.stop();
});

describe('reviews', () => {
  it('refuses a review without an install, a second review, and an answer by another partner, changing nothing', async () => {
    const before = await reviewEvents();
    expect(statusOf(await review(good, 'cus_never', 5))).toBe(409);
    expect(await reviewEvents()).toBe(before);

    await install(good, 'cus_1');
    const first = await review(good, 'cus_1', 4, 'Solid');
    expect(statusOf(first)).toBe(201);
    const id = (first as { body: ReviewBody }).body.id;
    expect(statusOf(await review(good, 'cus_1', 1, 'changed my mind'))).toBe(409);

    const other = await m.call('reviews.respond', partnerPrincipal('prt_bx000000000000000000000000'), {
      params: { id },
      body: { body: 'Not mine' },
    });
    expect(statusOf(other)).toBe(404);
    expect(await reviewEvents()).toBe(before + 1);
    const shown = await m.ok<{ data: ReviewBody[] }>('reviews.list', anonymous, { params: { id: good } });
    expect(shown.data).toEqual([expect.objectContaining({ id, rating: 4, body: 'Solid', response: null })]);
  });

  it('lets a customer who uninstalled still review; edits keep history; the partner answers once and edits it', async () => {
    await install(meh, 'cus_gone');
    await m.call('installs.delete', admin, { params: { id: meh, customer_id: 'cus_gone' } });
    const r = (await review(meh, 'cus_gone', 2, 'Meh')) as { ok: true; body: ReviewBody };
    expect(r.ok).toBe(true);
    const edited = await m.ok<ReviewBody>('reviews.edit', admin, { params: { id: r.body.id }, body: { rating: 3 } });
    expect(edited).toMatchObject({ rating: 3, body: 'Meh', edits: 1 });
    const answered = await m.ok<ReviewBody>('reviews.respond', partnerPrincipal('prt_bx000000000000000000000000'), {
      params: { id: r.body.id },
      body: { body: 'Sorry!' },
    });
    expect(answered.response?.body).toBe('Sorry!');
    const again = await m.ok<ReviewBody>('reviews.respond', partnerPrincipal('prt_bx000000000000000000000000'), {
      params: { id: r.body.id },
      body: { body: 'Fixed now.' },
    });
    expect(again.response?.body).toBe('Fixed now.');
    const types = (await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'review')))
      .filter((e) => (e.data as { review_id: string }).review_id === r.body.id)
      .map((e) => e.type);
    expect(types).toEqual(['review.submitted', 'review.edited', 'review.responded', 'review.response_edited']);
    const l = await m.ok<ListingBody>('listings.get', anonymous, { params: { id: meh } });
    expect(l.rating).toMatchObject({ count: 1, mean: 3, histogram: { 1: 0, 2: 0, 3: 1, 4: 0, 5: 0 } });
  });

  it('answers 422 naming the field for a bad rating', async () => {
    const r = await m.call('reviews.submit', admin, { params: { id: good }, body: { customer_id: 'cus_1', rating: 6, body: 'x' } });
    expect(statusOf(r)).toBe(422);
    expect(JSON.stringify(r.ok ? {} : r.problem)).toContain('rating');
  });

  it('sorts by the weighted rating: one 5-star review does not outrank many 4.8s', async () => {
    // good: 4 (from above) plus 19 more giving 4.8 on average over 20; lucky: a single 5; meh: low ratings pull C down
    for (let i = 0; i < 19; i++) {
      await install(good, `cus_g${i}`);
      expect(statusOf(await review(good, `cus_g${i}`, i < 16 ? 5 : 4))).toBe(201);
    }
    await install(lucky, 'cus_fan');
    await review(lucky, 'cus_fan', 5);
    for (let i = 0; i < 10; i++) {
      await install(meh, `cus_m${i}`);
      await review(meh, `cus_m${i}`, 2);
    }
    const g = await m.ok<ListingBody>('listings.get', anonymous, { params: { id: good } });
    expect(g.rating.count).toBe(20);
    expect(g.rating.mean).toBeCloseTo(4.8, 12);
    const byRating = await m.ok<{ data: ListingBody[] }>('listings.search', anonymous, { query: { sort: 'rating' } });
    expect(byRating.data.map((l) => l.id)).toEqual([good, lucky, meh]);
    const l = byRating.data[1] as ListingBody;
    expect(l.rating.mean).toBe(5);
    expect(l.rating.bayesian as number).toBeLessThan(g.rating.bayesian as number);
  });

  it('rebuilds the ratings from the stream to the same numbers', async () => {
    const before = await m.db.selectFrom('listing_ratings').selectAll().orderBy('listing_id').execute();
    expect(before.length).toBe(3);
    await m.projections.get(REVIEWS_PROJECTION)?.rebuild({ from: 'start' });
    expect(await m.db.selectFrom('listing_ratings').selectAll().execute()).toHaveLength(0);
    // waitFor right after rebuild() may still see the old checkpoint: wait (bounded) for the rebuilt rows instead
    const runner = m.projections.get(REVIEWS_PROJECTION);
    const last = Math.max(...(await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'review'))).map((e) => e.seq));
    await waitUntil(async () => Number(await runner?.checkpoint()) >= last, { what: 'the rebuild to reach the last review event' });
    expect(await m.db.selectFrom('listing_ratings').selectAll().orderBy('listing_id').execute()).toEqual(before);
  });
});
