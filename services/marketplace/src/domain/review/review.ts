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
    hidden: boolean;
    reports: number;
  } | null;
  response: { body: string } | null;
}

type Ref = { review_id: string; listing_id: string; partner_id: string; customer_id: string };
export type ReviewReportReason = 'spam' | 'offensive' | 'off_topic' | 'conflict_of_interest' | 'other';
export type ReviewEvent =
  | { type: 'review.submitted'; data: Ref & { rating: number; body: string; submitted_at: string } }
  | { type: 'review.edited'; data: Ref & { rating: number; body: string; previous_rating: number; edited_at: string } }
  | { type: 'review.responded'; data: Ref & { body: string; responded_at: string; responded_by: string } }
  | { type: 'review.response_edited'; data: Ref & { body: string; edited_at: string; edited_by: string } }
  | { type: 'review.reported'; data: Ref & { reason: ReviewReportReason; note: string | null; reported_by: string; reported_at: string } }
  | { type: 'review.hidden'; data: Ref & { rating: number; reason: string; hidden_by: string; hidden_at: string } }
  | { type: 'review.unhidden'; data: Ref & { rating: number; unhidden_by: string; unhidden_at: string } };

const REVIEW_EVENT_TYPES: ReadonlySet<string> = new Set([
  'review.submitted',
  'review.edited',
  'review.responded',
  'review.response_edited',
  'review.reported',
  'review.hidden',
  'review.unhidden',
]);

/** Narrows a stored event to a review event by its type (the envelope was validated against the catalog). */
export function isReviewEvent<E extends { type: string; data: unknown }>(e: E): e is E & ReviewEvent {
  return REVIEW_EVENT_TYPES.has(e.type);
}

export const initialReview = (): ReviewState => ({ review: null, response: null });

export function evolveReview(state: ReviewState, e: PlatformEvent): ReviewState {
  if (!isReviewEvent(e)) return state;
  const r = state.review;
  switch (e.type) {
    case 'review.submitted': {
      const { submitted_at: _t, ...d } = e.data;
      return { review: { ...d, edits: 0, hidden: false, reports: 0 }, response: null };
    }
    case 'review.edited':
      return r ? { ...state, review: { ...r, rating: e.data.rating, body: e.data.body, edits: r.edits + 1 } } : state;
    case 'review.responded':
    case 'review.response_edited':
      return { ...state, response: { body: e.data.body } };
    case 'review.reported':
      return r ? { ...state, review: { ...r, reports: r.reports + 1 } } : state;
    case 'review.hidden':
    case 'review.unhidden':
      return r ? { ...state, review: { ...r, hidden: e.type === 'review.hidden' } } : state;
    default:
      return state;
  }
}

export const reviewAggregate = { kind: REVIEW_AGGREGATE, initial: initialReview, evolve: evolveReview, projection: REVIEWS_PROJECTION };
