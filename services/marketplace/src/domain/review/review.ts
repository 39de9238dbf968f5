import type { PlatformEvent } from '@pep/contracts';
import { installKey } from '../install/install.ts';

/** The review aggregate: one per (listing, customer); its events are the review's history. */
export const REVIEW_AGGREGATE = 'review';
export const REVIEWS_PROJECTION = 'marketplace-reviews';

/** A review's id names its aggregate: `rev_<key of the (listing, customer) pair>`. */
export const reviewIdFor = (listingId: string, customerId: string) => `rev_${installKey(listingId, customerId)}`;
export const reviewKeyOf = (reviewId: string): string | undefined => {
  const m = /^rev_([A-Za-z0-9_-]{32})$/.exec(reviewId);
  return m?.[1];
};

export interface ReviewState {
  review: {
    review_id: string;
    listing_id: string;
    partner_id: string;
    customer_id: string;
    rating: number;
    body: string;
    edits: number;
  } | null;
  response: { body: string } | null;
}

type Ref = { review_id: string; listing_id: string; partner_id: string; customer_id: string };
export type ReviewEvent =
  | { type: 'review.submitted'; data: Ref & { rating: number; body: string; submitted_at: string } }
  | { type: 'review.edited'; data: Ref & { rating: number; body: string; previous_rating: number; edited_at: string } }
  | { type: 'review.responded'; data: Ref & { body: string; responded_at: string; responded_by: string } }
  | { type: 'review.response_edited'; data: Ref & { body: string; edited_at: string; edited_by: string } };

export const initialReview = (): ReviewState => ({ review: null, response: null });

export function evolveReview(state: ReviewState, event: PlatformEvent): ReviewState {
  const e = event as unknown as ReviewEvent;
  switch (e.type) {
    case 'review.submitted': {
      const { submitted_at: _t, ...d } = e.data;
      return { review: { ...d, edits: 0 }, response: null };
    }
    case 'review.edited':
      return state.review
        ? { ...state, review: { ...state.review, rating: e.data.rating, body: e.data.body, edits: state.review.edits + 1 } }
        : state;
    case 'review.responded':
    case 'review.response_edited':
      return { ...state, response: { body: e.data.body } };
    default:
      return state;
  }
}

export const reviewAggregate = { kind: REVIEW_AGGREGATE, initial: initialReview, evolve: evolveReview, projection: REVIEWS_PROJECTION };
