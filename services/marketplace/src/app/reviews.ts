import { NotFoundError } from '@pep/runtime';
import type { Principal } from '@pep/contracts';
import { assertVisible } from '@pep/service';
import { type CallMeta, marketplaceCommands, type UseCaseDeps } from './use-case-deps.ts';
import { installAggregate, installKey } from '../domain/install/install.ts';
import { decideReview } from '../domain/review/decide.ts';
import { type ReviewReportReason, type ReviewState, reviewAggregate, reviewIdFor, reviewKeyOf } from '../domain/review/review.ts';
import { findListing } from '../projections/catalog/index.ts';

/** Reviews and answers: load the (listing, customer) review aggregate → pure decide → append. */
export function createReviewUseCases(opts: UseCaseDeps) {
  const { commands, meta } = marketplaceCommands(opts);
  const keyOf = (reviewId: string) => {
    const key = reviewKeyOf(reviewId);
    if (!key) throw new NotFoundError(`review ${reviewId} not found`);
    return key;
  };
  /** The review a request names, when it exists (and, for a partner, when it is on one of its listings). */
  const existing = async (reviewId: string, principal?: Principal) => {
    const snap = await commands.load(reviewAggregate, keyOf(reviewId));
    const review = snap.state.review;
    if (!review) throw new NotFoundError(`review ${reviewId} not found`);
    if (principal) assertVisible(principal, review.partner_id, `review ${reviewId}`);
    return review;
  };

  return {
    async submit(listingId: string, customerId: string, input: { rating: number; body: string }, m: CallMeta): Promise<ReviewState> {
      const listing = await findListing(opts.db, listingId, { includeRetired: true });
      if (!listing) throw new NotFoundError(`listing ${listingId} not found`);
      // The install aggregate, read from the stream: whether this customer ever installed the listing.
      const installs = await commands.load(installAggregate, installKey(listingId, customerId));
      const reviewId = reviewIdFor(listingId, customerId);
      const now = opts.now();
      const res = await commands.execute(reviewAggregate, keyOf(reviewId), meta(listing.partner_id, m), (state) =>
        decideReview(
          {
            type: 'SubmitReview',
            review_id: reviewId,
            listing: { listing_id: listing.listing_id, partner_id: listing.partner_id },
            customer_id: customerId,
            has_installed: installs.state.installs > 0,
            rating: input.rating,
            body: input.body,
            now,
          },
          state,
        ),
      );
      return res.state;
    },

    async edit(reviewId: string, input: { rating?: number | undefined; body?: string | undefined }, m: CallMeta): Promise<void> {
      const review = await existing(reviewId);
      const now = opts.now();
      await commands.execute(reviewAggregate, keyOf(reviewId), meta(review.partner_id, m), (state) =>
        decideReview({ type: 'EditReview', review_id: reviewId, rating: input.rating, body: input.body, now }, state),
      );
    },

    /** The listing's partner (another partner's review is 404) or an admin reports a review for moderation. */
    async report(reviewId: string, principal: Principal, input: { reason: ReviewReportReason; note?: string | undefined }, m: CallMeta) {
      const review = await existing(reviewId, principal);
      const now = opts.now();
      await commands.execute(reviewAggregate, keyOf(reviewId), meta(review.partner_id, m), (state) =>
        decideReview({ type: 'ReportReview', review_id: reviewId, reason: input.reason, note: input.note ?? null, by: m.by, now }, state),
      );
    },

    /** Admin moderation: hide (kept, not shown or counted) or show again. */
    async setHidden(reviewId: string, hidden: { reason: string } | false, m: CallMeta): Promise<void> {
      const review = await existing(reviewId);
      const now = opts.now();
      await commands.execute(reviewAggregate, keyOf(reviewId), meta(review.partner_id, m), (state) =>
        decideReview(
          hidden
            ? { type: 'HideReview', review_id: reviewId, reason: hidden.reason, by: m.by, now }
            : { type: 'UnhideReview', review_id: reviewId, by: m.by, now },
          state,
        ),
      );
    },

    /** A partner answers only reviews of its own listings (another partner's is 404). */
    async respond(reviewId: string, principal: Principal, body: string, m: CallMeta): Promise<void> {
      const review = await existing(reviewId, principal);
      const now = opts.now();
      await commands.execute(reviewAggregate, keyOf(reviewId), meta(review.partner_id, m), (state) =>
        decideReview({ type: 'RespondToReview', review_id: reviewId, by: m.by, body, now }, state),
      );
    },
  };
}
export type ReviewUseCases = ReturnType<typeof createReviewUseCases>;
