import { ConflictError, IllegalTransitionError, NotFoundError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { envelope } from './support/marketplace.ts';
import { decideReview, type ReviewCommand } from '../src/domain/review/decide.ts';
import { BAYES_M, bayesianRating, plainMean } from '../src/domain/review/rating.ts';
import { evolveReview, initialReview, type ReviewEvent, type ReviewState } from '../src/domain/review/review.ts';

const now = new Date('2026-12-01T10:00:00.000Z');
const ref = {
  review_id: 'rev_1',
  listing_id: 'lst_1x000000000000000000000000',
  partner_id: 'prt_1x000000000000000000000000',
  customer_id: 'cus_1',
};
const submit = (over: Partial<Extract<ReviewCommand, { type: 'SubmitReview' }>> = {}): ReviewCommand => ({
  type: 'SubmitReview',
  review_id: 'rev_1',
  listing: { listing_id: 'lst_1x000000000000000000000000', partner_id: 'prt_1x000000000000000000000000' },
  customer_id: 'cus_1',
  has_installed: true,
  rating: 4,
  body: 'Works well',
  now,
  ...over,
});
const submitted: ReviewEvent = {
  type: 'review.submitted',
  data: { ...ref, rating: 4, body: 'Works well', submitted_at: now.toISOString() },
};
const responded: ReviewEvent = {
  type: 'review.responded',
  data: { ...ref, body: 'Thanks!', responded_at: now.toISOString(), responded_by: 'key_px000000000000000000000000' },
};

const respond = (body: string): ReviewCommand => ({
  type: 'RespondToReview',
  review_id: 'rev_1',
  by: 'key_px000000000000000000000000',
  body,
  now,
});
const reviews = deciderSpec<ReviewState, ReviewCommand, ReviewEvent>({
  decide: decideReview,
  evolve: (s, e) => evolveReview(s, envelope(e.type, e.data)),
  initialState: initialReview,
});

describe('review decider', () => {
  it('given an install, when the customer reviews: review.submitted', () => {
    expect(reviews.given().when(submit()).events()).toEqual([submitted]);
  });

  it('given no install ever, when the customer reviews: refused', () => {
    expect(reviews.given().when(submit({ has_installed: false })).events).toThrow(IllegalTransitionError);
  });

  it('given a review, when the customer reviews again: 409, edit instead', () => {
    expect(reviews.given([submitted]).when(submit({ rating: 1 })).events).toThrow(ConflictError);
  });

  it('given a review, when it is edited: review.edited carrying the previous rating (history)', () => {
    expect(reviews.given([submitted]).when({ type: 'EditReview', review_id: 'rev_1', rating: 2, now }).events()).toEqual([
      { type: 'review.edited', data: { ...ref, rating: 2, body: 'Works well', previous_rating: 4, edited_at: now.toISOString() } },
    ]);
  });

  it('given a review, when an edit changes nothing: nothing', () => {
    expect(
      reviews.given([submitted]).when({ type: 'EditReview', review_id: 'rev_1', rating: 4, body: 'Works well', now }).events(),
    ).toEqual([]);
  });

  it('given no review, when it is edited or answered: not found', () => {
    expect(reviews.given().when({ type: 'EditReview', review_id: 'rev_1', rating: 2, now }).events).toThrow(NotFoundError);
    expect(reviews.given().when({ type: 'RespondToReview', review_id: 'rev_1', by: 'k', body: 'x', now }).events).toThrow(NotFoundError);
  });

  it('given a review, when the partner answers: review.responded; answering again edits the one answer', () => {
    expect(reviews.given([submitted]).when(respond('Thanks!')).events()).toEqual([responded]);
    expect(reviews.given([submitted, responded]).when(respond('Thanks again')).events()).toEqual([
      {
        type: 'review.response_edited',
        data: { ...ref, body: 'Thanks again', edited_at: now.toISOString(), edited_by: 'key_px000000000000000000000000' },
      },
    ]);
    expect(reviews.given([submitted, responded]).when(respond('Thanks!')).events()).toEqual([]);
  });
});

describe('weighted rating (m = 10)', () => {
  it('keeps one 5-star review below a long record of 4.8s when the marketplace mean is lower', () => {
    const prior = 4.0;
    const one = bayesianRating(1, 5, prior) as number;
    const many = bayesianRating(100, 480, prior) as number;
    expect(many).toBeGreaterThan(one);
    expect(one).toBeCloseTo((5 + BAYES_M * prior) / (1 + BAYES_M), 12);
    expect(plainMean(1, 5)).toBe(5);
  });

  it('has no rating without reviews and falls back to the plain mean without a prior', () => {
    expect(bayesianRating(0, 0, 4)).toBeNull();
    expect(plainMean(0, 0)).toBeNull();
    expect(bayesianRating(2, 9, null)).toBe(4.5);
  });
});
