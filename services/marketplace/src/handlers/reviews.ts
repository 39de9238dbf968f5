import { EditReviewBody, HideReviewBody, PageQuerySchema, ReportReviewBody, ReviewResponseBody, SubmitReviewBody } from '@pep/contracts';
import { NotFoundError, parseOrThrow } from '@pep/runtime';
import { ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { findListing } from '../projections/catalog/index.ts';
import { findReview, listReviews } from '../projections/reviews/index.ts';
import { ListingParams } from './catalog.ts';
import { type HandlerDeps, metaOf, route } from './context.ts';
import { reviewView } from './views.ts';

const ReviewParams = z.object({ id: z.string().min(1).max(64) });

/** Reviews (the platform product submits and edits them for customers), answers, reports and moderation. */
export function reviewHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  /** The review's row after a command (the command bus waited for the reviews read model). */
  const shown = async (id: string, status = 200) => {
    const row = await findReview(deps.db, id);
    if (!row) throw new NotFoundError(`review ${id} not found`);
    return ok(reviewView(row), status);
  };
  return {
    'reviews.list': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const q = parseOrThrow(PageQuerySchema.strict(), req.query);
      if (!(await findListing(deps.db, id))) throw new NotFoundError(`listing ${id} not found`);
      const after = q.starting_after ? await findReview(deps.db, q.starting_after) : undefined;
      const rows = await listReviews(deps.db, { listingId: id, limit: q.limit, startingAfter: after });
      return ok({ data: rows.slice(0, q.limit).map(reviewView), has_more: rows.length > q.limit });
    }),
    'reviews.submit': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const body = parseOrThrow(SubmitReviewBody, req.body);
      const state = await deps.reviews.submit(id, body.customer_id, body, metaOf(req));
      if (!state.review) throw new NotFoundError(`listing ${id} not found`);
      return shown(state.review.review_id, 201);
    }),
    'reviews.edit': route(deps, async (req) => {
      const { id } = parseOrThrow(ReviewParams, req.params);
      const body = parseOrThrow(EditReviewBody, req.body);
      await deps.reviews.edit(id, body, metaOf(req));
      return shown(id);
    }),
    'reviews.respond': route(deps, async (req) => {
      const { id } = parseOrThrow(ReviewParams, req.params);
      const body = parseOrThrow(ReviewResponseBody, req.body);
      await deps.reviews.respond(id, req.principal, body.body, metaOf(req));
      return shown(id);
    }),
    'reviews.report': route(deps, async (req) => {
      const { id } = parseOrThrow(ReviewParams, req.params);
      const body = parseOrThrow(ReportReviewBody, req.body);
      await deps.reviews.report(id, req.principal, body, metaOf(req));
      return shown(id, 201);
    }),
    'reviews.hide': route(deps, async (req) => {
      const { id } = parseOrThrow(ReviewParams, req.params);
      const body = parseOrThrow(HideReviewBody, req.body);
      await deps.reviews.setHidden(id, body, metaOf(req));
      return shown(id);
    }),
    'reviews.unhide': route(deps, async (req) => {
      const { id } = parseOrThrow(ReviewParams, req.params);
      await deps.reviews.setHidden(id, false, metaOf(req));
      return shown(id);
    }),
  };
}
