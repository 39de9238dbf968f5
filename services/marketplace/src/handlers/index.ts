import {
  CreateInstallBody,
  EditReviewBody,
  type Install,
  type Listing,
  PageQuerySchema,
  type Review,
  ReviewResponseBody,
  type RpcRequest,
  SearchListingsQuery,
  SubmitReviewBody,
} from '@pep/contracts';
import { type Logger, NotFoundError, parseOrThrow } from '@pep/runtime';
import { handler, listScope, ok, type RpcHandler } from '@pep/service';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { InstallUseCases } from '../app/installs.ts';
import type { ReviewUseCases } from '../app/reviews.ts';
import type { MarketplaceDB } from '../db/schema.ts';
import type { InstallRecord } from '../domain/install/install.ts';
import { trendingScore } from '../domain/listing/trending.ts';
import { bayesianRating, plainMean } from '../domain/review/rating.ts';
import { findListing, type ListingRow } from '../projections/catalog/index.ts';
import { searchListings } from '../projections/catalog/search.ts';
import { type InstallRow, listInstalls } from '../projections/installs/index.ts';
import { findReview, listReviews, marketplaceMeanRating, type ReviewRow } from '../projections/reviews/index.ts';

export interface HandlerDeps {
  db: Kysely<MarketplaceDB>;
  logger: Logger;
  installs: InstallUseCases;
  reviews: ReviewUseCases;
  now: () => Date;
}

const iso = (v: Date | string) => new Date(v).toISOString();

/** `prior`: the marketplace-wide mean rating (C of the weighted rating). */
export function listingView(r: ListingRow, nowMs: number, prior: number | null): Listing {
  const count = Number(r.review_count);
  const sum = Number(r.rating_sum);
  return {
    id: r.listing_id,
    object: 'listing',
    application_id: r.application_id,
    partner_id: r.partner_id,
    partner_name: r.partner_name,
    name: r.name,
    tagline: r.tagline,
    description: r.description,
    categories: r.categories,
    pricing: r.pricing as Listing['pricing'],
    official: r.official,
    status: r.status === 'deprecated' ? 'deprecated' : 'published',
    status_reason: r.status_reason,
    privacy_url: r.privacy_url,
    terms_url: r.terms_url,
    active_installs: Number(r.active_installs),
    total_installs: Number(r.total_installs),
    trending_score: trendingScore(Number(r.trend_weight), nowMs),
    rating: {
      count,
      mean: plainMean(count, sum),
      bayesian: bayesianRating(count, sum, prior),
      histogram: { 1: Number(r.r1), 2: Number(r.r2), 3: Number(r.r3), 4: Number(r.r4), 5: Number(r.r5) },
    },
    published_at: iso(r.published_at),
    updated_at: iso(r.updated_at),
  };
}

export function installView(r: InstallRecord | InstallRow): Install {
  const removed = 'active' in r ? (r.active ? null : r.removed_at) : r.removed_at;
  return {
    id: r.install_id,
    object: 'install',
    listing_id: r.listing_id,
    application_id: r.application_id,
    partner_id: r.partner_id,
    customer_id: r.customer_id,
    status: removed ? 'removed' : 'active',
    installed_at: iso(r.installed_at),
    removed_at: removed ? iso(removed) : null,
  };
}

export function reviewView(r: ReviewRow): Review {
  return {
    id: r.review_id,
    object: 'review',
    listing_id: r.listing_id,
    customer_id: r.customer_id,
    rating: r.rating,
    body: r.body,
    edits: r.edits,
    response:
      r.response_body !== null && r.responded_at
        ? { body: r.response_body, responded_at: iso(r.responded_at), updated_at: iso(r.response_updated_at ?? r.responded_at) }
        : null,
    submitted_at: iso(r.submitted_at),
    updated_at: iso(r.updated_at),
  };
}

const ListingParams = z.object({ id: z.string().min(1).max(64) });
const ReviewParams = z.object({ id: z.string().min(1).max(64) });
const InstallParams = z.object({ id: z.string().min(1).max(64), customer_id: CreateInstallBody.shape.customer_id });
const ListInstallsQuery = PageQuerySchema.extend({
  listing_id: z.string().min(1).max(64).optional(),
  customer_id: CreateInstallBody.shape.customer_id.optional(),
  status: z.enum(['active', 'removed']).optional(),
  partner_id: z.string().min(1).max(64).optional(),
});

export function marketplaceHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: (req: RpcRequest<any, any, any>) => Promise<ReturnType<typeof ok>>) => handler(deps.logger, fn);
  const meta = (req: RpcRequest<any, any, any>) => ({
    by: req.principal.credential_id,
    traceparent: req.traceparent,
    requestId: req.request_id,
  });

  /** The review's row after a command (the command bus waited for the reviews read model). */
  const readReview = async (id: string) => {
    const row = await findReview(deps.db, id);
    if (!row) throw new NotFoundError(`review ${id} not found`);
    return row;
  };

  return {
    'listings.search': h(async (req) => {
      const q = parseOrThrow(SearchListingsQuery, req.query ?? {});
      const [res, prior] = await Promise.all([searchListings(deps.db, q), marketplaceMeanRating(deps.db)]);
      const nowMs = deps.now().getTime();
      return ok({
        object: 'list',
        data: res.rows.map((r) => listingView(r, nowMs, prior)),
        has_more: res.has_more,
        next_cursor: res.next_cursor,
        total: res.total,
        facets: res.facets,
      });
    }),
    'listings.get': h(async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const [row, prior] = await Promise.all([findListing(deps.db, id), marketplaceMeanRating(deps.db)]);
      if (!row) throw new NotFoundError(`listing ${id} not found`);
      return ok(listingView(row, deps.now().getTime(), prior));
    }),
    'installs.create': h(async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const body = parseOrThrow(CreateInstallBody, req.body);
      const res = await deps.installs.install(id, body.customer_id, meta(req));
      return ok(installView(res.install), res.created ? 201 : 200);
    }),
    'installs.delete': h(async (req) => {
      const { id, customer_id } = parseOrThrow(InstallParams, req.params);
      return ok(installView(await deps.installs.uninstall(id, customer_id, meta(req))));
    }),
    'reviews.list': h(async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const q = parseOrThrow(PageQuerySchema.strict(), req.query ?? {});
      if (!(await findListing(deps.db, id))) throw new NotFoundError(`listing ${id} not found`);
      const after = q.starting_after ? await findReview(deps.db, q.starting_after) : undefined;
      const rows = await listReviews(deps.db, { listingId: id, limit: q.limit, startingAfter: after });
      return ok({ data: rows.slice(0, q.limit).map(reviewView), has_more: rows.length > q.limit });
    }),
    'reviews.submit': h(async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const body = parseOrThrow(SubmitReviewBody, req.body);
      const state = await deps.reviews.submit(id, body.customer_id, body, meta(req));
      return ok(reviewView(await readReview(state.review?.review_id as string)), 201);
    }),
    'reviews.edit': h(async (req) => {
      const { id } = parseOrThrow(ReviewParams, req.params);
      const body = parseOrThrow(EditReviewBody, req.body);
      await deps.reviews.edit(id, body, meta(req));
      return ok(reviewView(await readReview(id)));
    }),
    'reviews.respond': h(async (req) => {
      const { id } = parseOrThrow(ReviewParams, req.params);
      const body = parseOrThrow(ReviewResponseBody, req.body);
      await deps.reviews.respond(id, req.principal, body.body, meta(req));
      return ok(reviewView(await readReview(id)));
    }),
    'installs.list': h(async (req) => {
      const q = parseOrThrow(ListInstallsQuery, req.query ?? {});
      const rows = await listInstalls(deps.db, {
        partnerId: listScope(req.principal, q.partner_id),
        ...(q.listing_id ? { listingId: q.listing_id } : {}),
        ...(q.customer_id ? { customerId: q.customer_id } : {}),
        ...(q.status ? { active: q.status === 'active' } : {}),
        limit: q.limit,
        ...(q.starting_after ? { startingAfter: q.starting_after } : {}),
      });
      return ok({ data: rows.slice(0, q.limit).map(installView), has_more: rows.length > q.limit });
    }),
  };
}
