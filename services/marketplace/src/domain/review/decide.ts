import { ConflictError, IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { ReviewEvent, ReviewReportReason, ReviewState } from './review.ts';

export type ReviewCommand =
  | {
      type: 'SubmitReview';
      review_id: string;
      listing: { listing_id: string; partner_id: string };
      customer_id: string;
      /** Whether the customer has (or had) an install of the listing, from its install aggregate. */
      has_installed: boolean;
      rating: number;
      body: string;
      now: Date;
    }
  | { type: 'EditReview'; review_id: string; rating?: number | undefined; body?: string | undefined; now: Date }
  | { type: 'RespondToReview'; review_id: string; by: string; body: string; now: Date }
  | { type: 'ReportReview'; review_id: string; reason: ReviewReportReason; note: string | null; by: string; now: Date }
  | { type: 'HideReview'; review_id: string; reason: string; by: string; now: Date }
  | { type: 'UnhideReview'; review_id: string; by: string; now: Date };

/** The fields every review event repeats, from the state. */
const refOf = (r: NonNullable<ReviewState['review']>) => ({
  review_id: r.review_id,
  listing_id: r.listing_id,
  partner_id: r.partner_id,
  customer_id: r.customer_id,
});

/**
 * Pure: only a customer with an install (active or past) reviews, once; an edit keeps the earlier versions in
 * the events; the partner's answer is one answer, and answering again edits it. Unchanged edits decide nothing.
 */
export function decideReview(command: ReviewCommand, state: ReviewState): ReviewEvent[] {
  switch (command.type) {
    case 'SubmitReview': {
      if (state.review)
        throw new ConflictError(`customer ${command.customer_id} has already reviewed this listing; edit the review instead`);
      if (!command.has_installed) {
        throw new IllegalTransitionError(`customer ${command.customer_id} has never installed listing ${command.listing.listing_id}`);
      }
      return [
        {
          type: 'review.submitted',
          data: {
            review_id: command.review_id,
            listing_id: command.listing.listing_id,
            partner_id: command.listing.partner_id,
            customer_id: command.customer_id,
            rating: command.rating,
            body: command.body,
            submitted_at: command.now.toISOString(),
          },
        },
      ];
    }
    case 'EditReview': {
      const r = state.review;
      if (!r) throw new NotFoundError(`review ${command.review_id} not found`);
      const rating = command.rating ?? r.rating;
      const body = command.body ?? r.body;
      if (rating === r.rating && body === r.body) return [];
      const data = { ...refOf(r), rating, body, previous_rating: r.rating, edited_at: command.now.toISOString() };
      return [{ type: 'review.edited', data }];
    }
    case 'RespondToReview': {
      const r = state.review;
      if (!r) throw new NotFoundError(`review ${command.review_id} not found`);
      const ref = refOf(r);
      if (!state.response) {
        return [
          {
            type: 'review.responded',
            data: { ...ref, body: command.body, responded_at: command.now.toISOString(), responded_by: command.by },
          },
        ];
      }
      if (state.response.body === command.body) return [];
      return [
        {
          type: 'review.response_edited',
          data: { ...ref, body: command.body, edited_at: command.now.toISOString(), edited_by: command.by },
        },
      ];
    }
    case 'ReportReview': {
      const r = state.review;
      if (!r) throw new NotFoundError(`review ${command.review_id} not found`);
      const data = {
        ...refOf(r),
        reason: command.reason,
        note: command.note,
        reported_by: command.by,
        reported_at: command.now.toISOString(),
      };
      return [{ type: 'review.reported', data }];
    }
    case 'HideReview':
    case 'UnhideReview': {
      const r = state.review;
      if (!r) throw new NotFoundError(`review ${command.review_id} not found`);
      const at = command.now.toISOString();
      if (command.type === 'HideReview') {
        if (r.hidden) return [];
        return [
          { type: 'review.hidden', data: { ...refOf(r), rating: r.rating, reason: command.reason, hidden_by: command.by, hidden_at: at } },
        ];
      }
      if (!r.hidden) return [];
      return [{ type: 'review.unhidden', data: { ...refOf(r), rating: r.rating, unhidden_by: command.by, unhidden_at: at } }];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
