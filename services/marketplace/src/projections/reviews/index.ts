import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { isReviewEvent, REVIEW_AGGREGATE, REVIEWS_PROJECTION, type ReviewEvent } from '../../domain/review/review.ts';

export { REVIEWS_PROJECTION };

type Bucket = 'r1' | 'r2' | 'r3' | 'r4' | 'r5';
const bucket = (rating: number): Bucket => {
  const b = `r${rating}`;
  if (b === 'r1' || b === 'r2' || b === 'r3' || b === 'r4' || b === 'r5') return b;
  throw new RangeError(`rating ${rating} is not 1 to 5`);
};

/** Adds a review's rating to (sign 1) or takes it from (sign -1) its listing's count, sum and histogram. */
async function countRating(trx: Transaction<MarketplaceDB>, listingId: string, rating: number, sign: 1 | -1) {
  const b = bucket(rating);
  await trx
    .insertInto('listing_ratings')
    .values({ listing_id: listingId, review_count: sign, rating_sum: sign * rating, r1: 0, r2: 0, r3: 0, r4: 0, r5: 0, [b]: sign })
    .onConflict((oc) =>
      oc.column('listing_id').doUpdateSet({
        review_count: sql`listing_ratings.review_count + ${sign}`,
        rating_sum: sql`listing_ratings.rating_sum + ${sign * rating}`,
        [b]: sql`listing_ratings.${sql.ref(b)} + ${sign}`,
      }),
    )
    .execute();
  await trx
    .insertInto('rating_totals')
    .values({ id: 1, review_count: sign, rating_sum: sign * rating })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        review_count: sql`rating_totals.review_count + ${sign}`,
        rating_sum: sql`rating_totals.rating_sum + ${sign * rating}`,
      }),
    )
    .execute();
}

async function applyReviewEvent(trx: Transaction<MarketplaceDB>, e: ReviewEvent, seq: number): Promise<void> {
  const byId = (q: ReturnType<typeof trx.updateTable<'reviews'>>) => q.where('review_id', '=', e.data.review_id).execute();
  switch (e.type) {
    case 'review.submitted': {
      const d = e.data;
      await trx
        .insertInto('reviews')
        .values({
          review_id: d.review_id,
          listing_id: d.listing_id,
          partner_id: d.partner_id,
          customer_id: d.customer_id,
          rating: d.rating,
          body: d.body,
          edits: 0,
          response_body: null,
          responded_at: null,
          response_updated_at: null,
          submitted_at: d.submitted_at,
          updated_at: d.submitted_at,
          seq,
        })
        .execute();
      await countRating(trx, d.listing_id, d.rating, 1);
      return;
    }
    case 'review.edited': {
      const d = e.data;
      const row = await trx.selectFrom('reviews').select('hidden').where('review_id', '=', d.review_id).executeTakeFirst();
      await byId(trx.updateTable('reviews').set({ rating: d.rating, body: d.body, edits: sql`edits + 1`, updated_at: d.edited_at, seq }));
      // A hidden review is not counted: its new rating counts once it is shown again.
      if (d.rating !== d.previous_rating && row && !row.hidden) {
        await countRating(trx, d.listing_id, d.previous_rating, -1);
        await countRating(trx, d.listing_id, d.rating, 1);
      }
      return;
    }
    case 'review.responded':
      await byId(
        trx.updateTable('reviews').set({
          response_body: e.data.body,
          responded_at: e.data.responded_at,
          response_updated_at: e.data.responded_at,
          seq,
        }),
      );
      return;
    case 'review.response_edited':
      await byId(trx.updateTable('reviews').set({ response_body: e.data.body, response_updated_at: e.data.edited_at, seq }));
      return;
    case 'review.reported':
      await byId(trx.updateTable('reviews').set({ reports: sql`reports + 1`, seq }));
      return;
    case 'review.hidden':
      await byId(trx.updateTable('reviews').set({ hidden: true, hidden_reason: e.data.reason, seq }));
      await countRating(trx, e.data.listing_id, e.data.rating, -1);
      return;
    case 'review.unhidden':
      await byId(trx.updateTable('reviews').set({ hidden: false, hidden_reason: null, seq }));
      await countRating(trx, e.data.listing_id, e.data.rating, 1);
      return;
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** Reviews with their answers and moderation, and per listing the count, sum and histogram of visible reviews. */
export function reviewsProjection(prefix: string): Projection<MarketplaceDB> {
  return {
    name: REVIEWS_PROJECTION,
    filterSubject: aggregateFilter(prefix, REVIEW_AGGREGATE),
    async apply(trx: Transaction<MarketplaceDB>, events: StoredEvent[]) {
      for (const e of events) if (isReviewEvent(e)) await applyReviewEvent(trx, e, e.seq);
    },
    tables: ['reviews', 'listing_ratings', 'rating_totals'],
    async reset(trx) {
      await trx.deleteFrom('rating_totals').execute();
      await trx.deleteFrom('listing_ratings').execute();
      await trx.deleteFrom('reviews').execute();
    },
  };
}

export interface ReviewRow {
  review_id: string;
  listing_id: string;
  partner_id: string;
  customer_id: string;
  rating: number;
  body: string;
  edits: number;
  response_body: string | null;
  responded_at: Date | null;
  response_updated_at: Date | null;
  submitted_at: Date;
  updated_at: Date;
  hidden: boolean;
  reports: number;
}

export async function findReview(db: Kysely<MarketplaceDB>, reviewId: string): Promise<ReviewRow | undefined> {
  return db.selectFrom('reviews').selectAll().where('review_id', '=', reviewId).executeTakeFirst();
}

export async function listReviews(
  db: Kysely<MarketplaceDB>,
  f: { listingId: string; limit: number; startingAfter?: ReviewRow | undefined },
): Promise<ReviewRow[]> {
  let q = db
    .selectFrom('reviews')
    .selectAll()
    .where('listing_id', '=', f.listingId)
    .where('hidden', '=', false)
    .orderBy('submitted_at', 'desc')
    .orderBy('review_id', 'asc')
    .limit(f.limit + 1);
  const after = f.startingAfter;
  if (after) {
    q = q.where((eb) =>
      eb.or([
        eb('submitted_at', '<', after.submitted_at),
        eb.and([eb('submitted_at', '=', after.submitted_at), eb('review_id', '>', after.review_id)]),
      ]),
    );
  }
  return q.execute();
}

/** C of the weighted rating: the mean of every review in the marketplace (null before the first). */
export async function marketplaceMeanRating(db: Kysely<MarketplaceDB>): Promise<number | null> {
  const r = await db
    .selectFrom('rating_totals')
    .where('id', '=', 1)
    .select(sql<number | null>`rating_sum::float8 / nullif(review_count, 0)`.as('mean'))
    .executeTakeFirst();
  return r?.mean ?? null;
}
