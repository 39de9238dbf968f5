import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { REVIEW_AGGREGATE, REVIEWS_PROJECTION, type ReviewEvent } from '../../domain/review/review.ts';

export { REVIEWS_PROJECTION };

type Bucket = 'r1' | 'r2' | 'r3' | 'r4' | 'r5';
const bucket = (rating: number) => `r${rating}` as Bucket;

/** Reviews with their answers, and per listing the review count, rating sum and histogram. */
export function reviewsProjection(prefix: string): Projection<MarketplaceDB> {
  return {
    name: REVIEWS_PROJECTION,
    filterSubject: aggregateFilter(prefix, REVIEW_AGGREGATE),
    async apply(trx: Transaction<MarketplaceDB>, events: StoredEvent[]) {
      for (const stored of events) {
        const e = stored as unknown as ReviewEvent & { time: string; seq: number };
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
                seq: stored.seq,
              })
              .execute();
            const b = bucket(d.rating);
            await trx
              .insertInto('listing_ratings')
              .values({ listing_id: d.listing_id, review_count: 1, rating_sum: d.rating, r1: 0, r2: 0, r3: 0, r4: 0, r5: 0, [b]: 1 })
              .onConflict((oc) =>
                oc.column('listing_id').doUpdateSet({
                  review_count: sql`listing_ratings.review_count + 1`,
                  rating_sum: sql`listing_ratings.rating_sum + ${d.rating}`,
                  [b]: sql`listing_ratings.${sql.ref(b)} + 1`,
                }),
              )
              .execute();
            break;
          }
          case 'review.edited': {
            const d = e.data;
            await trx
              .updateTable('reviews')
              .set({ rating: d.rating, body: d.body, edits: sql`edits + 1`, updated_at: d.edited_at, seq: stored.seq })
              .where('review_id', '=', d.review_id)
              .execute();
            if (d.rating !== d.previous_rating) {
              const from = bucket(d.previous_rating);
              const to = bucket(d.rating);
              await trx
                .updateTable('listing_ratings')
                .set({
                  rating_sum: sql`rating_sum + ${d.rating - d.previous_rating}`,
                  [from]: sql`${sql.ref(from)} - 1`,
                  [to]: sql`${sql.ref(to)} + 1`,
                })
                .where('listing_id', '=', d.listing_id)
                .execute();
            }
            break;
          }
          case 'review.responded':
            await trx
              .updateTable('reviews')
              .set({
                response_body: e.data.body,
                responded_at: e.data.responded_at,
                response_updated_at: e.data.responded_at,
                seq: stored.seq,
              })
              .where('review_id', '=', e.data.review_id)
              .execute();
            break;
          case 'review.response_edited':
            await trx
              .updateTable('reviews')
              .set({ response_body: e.data.body, response_updated_at: e.data.edited_at, seq: stored.seq })
              .where('review_id', '=', e.data.review_id)
              .execute();
            break;
          default:
            break;
        }
      }
    },
    async reset(trx) {
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
}

export async function findReview(db: Kysely<MarketplaceDB>, reviewId: string): Promise<ReviewRow | undefined> {
  return (await db.selectFrom('reviews').selectAll().where('review_id', '=', reviewId).executeTakeFirst()) as ReviewRow | undefined;
}

export async function listReviews(
  db: Kysely<MarketplaceDB>,
  f: { listingId: string; limit: number; startingAfter?: ReviewRow | undefined },
): Promise<ReviewRow[]> {
  let q = db
    .selectFrom('reviews')
    .selectAll()
    .where('listing_id', '=', f.listingId)
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
  return (await q.execute()) as ReviewRow[];
}

/** C of the weighted rating: the mean of every review in the marketplace (null before the first). */
export async function marketplaceMeanRating(db: Kysely<MarketplaceDB>): Promise<number | null> {
  const r = await db
    .selectFrom('listing_ratings')
    .select(sql<number | null>`sum(rating_sum)::float8 / nullif(sum(review_count), 0)`.as('mean'))
    .executeTakeFirst();
  return r?.mean ?? null;
}
