import { z } from 'zod';
import { PlatformId, ReviewId } from '../common/ids.ts';
import { safeText } from '../common/text.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { MarketplaceCustomerIdSchema, RatingSchema } from './events.ts';
import { PricingPlanSchema } from './listing.ts';

export const ListingStatusSchema = z
  .enum(['published', 'deprecated'])
  .describe('deprecated: still shown (with the reason) but takes no new installs; retired listings are unlisted');

/** How a listing is priced, as the listing states it (the billing service's prices replace this once it exists). */
export const PricingModelSchema = z.enum(['free', 'flat', 'usage_based', 'free_trial']);

export const ListingSchema = z
  .object({
    id: safeText(),
    object: z.literal('listing'),
    application_id: safeText(),
    partner_id: safeText(),
    partner_name: safeText().nullable(),
    name: safeText(),
    tagline: safeText().nullable().describe("From the listing's published content (null until the partner publishes a draft)"),
    description: safeText().describe('Long description as its partner wrote it (Markdown)'),
    description_html: safeText().describe(
      'The description rendered from Markdown: raw HTML not rendered, links only http(s)/mailto with rel="nofollow noopener noreferrer", images only http(s)',
    ),
    categories: z.array(safeText()),
    pricing: PricingModelSchema.nullable().describe('null: the listing states no pricing yet'),
    official: z.boolean().describe("Badge of a technology partner's listing"),
    status: ListingStatusSchema,
    status_reason: safeText().nullable().describe('Why it was deprecated, when it was'),
    privacy_url: safeText().nullable(),
    terms_url: safeText().nullable(),
    logo_url: safeText().nullable(),
    screenshots: z.array(safeText()),
    support_email: safeText().nullable(),
    documentation_url: safeText().nullable(),
    pricing_plans: z.array(PricingPlanSchema).describe('As the listing states them (billing prices them once it exists)'),
    featured: z
      .object({ from: safeText(), until: safeText() })
      .nullable()
      .describe("The admin's featured window, while it is open (GET /v1/marketplace/featured)"),
    active_installs: z.number().int(),
    total_installs: z.number().int().describe('Installs ever made, uninstalled ones included'),
    trending_score: z
      .number()
      .describe('Install velocity: each install counts 1 and each uninstall -1, halving every 7 days (docs/marketplace.md)'),
    rating: z
      .object({
        count: z.number().int(),
        mean: z.number().nullable().describe('Plain mean of the ratings; null without reviews'),
        bayesian: z
          .number()
          .nullable()
          .describe('IMDb weighted rating: (v·R + m·C) / (v + m), C the marketplace-wide mean, m = 10 (docs/marketplace.md)'),
        histogram: z.object({ 1: z.number().int(), 2: z.number().int(), 3: z.number().int(), 4: z.number().int(), 5: z.number().int() }),
      })
      .describe('Ratings of the visible reviews'),
    published_at: safeText(),
    updated_at: safeText(),
  })
  .meta({ id: 'Listing' });
export type Listing = z.output<typeof ListingSchema>;

export const ListingSortSchema = z
  .enum(['relevance', 'rating', 'installs', 'trending', 'newest'])
  .describe('Default: relevance when `q` is given, else installs');

export const SearchListingsQuery = z
  .object({
    q: safeText().trim().max(200).optional().describe('Full text over name, tagline and description; typos and prefixes match too'),
    category: safeText().trim().min(1).max(64).optional(),
    pricing: PricingModelSchema.optional(),
    min_rating: z.coerce
      .number()
      .min(1)
      .max(5)
      .optional()
      .describe('Only listings whose mean rating (of visible reviews) is at least this; unrated listings are left out'),
    official: z
      .union([z.boolean(), z.enum(['true', 'false'])])
      .optional()
      .transform((v) => (v === undefined ? undefined : v === true || v === 'true'))
      .describe('Only listings with (true) or without (false) the official badge'),
    sort: ListingSortSchema.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: safeText().min(1).max(512).optional().describe('The `next_cursor` of the previous page'),
  })
  .strict();
export type SearchListings = z.output<typeof SearchListingsQuery>;

const FacetCountSchema = z.object({ value: safeText(), count: z.number().int() });

export const ListingSearchResultSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(ListingSchema),
    has_more: z.boolean(),
    next_cursor: safeText().nullable(),
    total: z.number().int().describe('Listings matching the query and every filter'),
    facets: z
      .object({
        category: z.array(FacetCountSchema),
        pricing: z.array(FacetCountSchema).describe('"unspecified" counts listings that state no pricing'),
        official: z.array(FacetCountSchema),
        rating: z
          .array(FacetCountSchema)
          .describe('Mean-rating bands: "4" is 4.0–5.0, "3" is 3.0–3.99, …; "unrated" has no visible review'),
      })
      .describe('Counts over the listings matching the query and every filter'),
  })
  .meta({ id: 'ListingSearchResult' });

export const InstallSchema = z
  .object({
    id: safeText(),
    object: z.literal('install'),
    listing_id: safeText(),
    application_id: safeText(),
    partner_id: safeText(),
    customer_id: safeText(),
    status: z.enum(['active', 'removed']),
    installed_at: safeText(),
    removed_at: safeText().nullable(),
  })
  .meta({ id: 'Install' });
export type Install = z.output<typeof InstallSchema>;

export const ReviewSchema = z
  .object({
    id: safeText(),
    object: z.literal('review'),
    listing_id: safeText(),
    customer_id: safeText(),
    rating: RatingSchema,
    body: safeText(),
    edits: z.number().int().describe('How often the customer edited it (the history is in the review events)'),
    hidden: z.boolean().describe('Hidden by an admin: kept, not shown publicly and not counted in the ratings'),
    reports: z.number().int().describe('Times it was reported for moderation'),
    response: z.object({ body: safeText(), responded_at: safeText(), updated_at: safeText() }).nullable().describe("The partner's answer"),
    submitted_at: safeText(),
    updated_at: safeText(),
  })
  .meta({ id: 'Review' });
export type Review = z.output<typeof ReviewSchema>;

const reviewText = () => safeText().trim().min(1).max(5000);
export const SubmitReviewBody = z
  .object({ customer_id: MarketplaceCustomerIdSchema, rating: RatingSchema, body: reviewText() })
  .strict()
  .meta({ id: 'SubmitReview' });
export const EditReviewBody = z
  .object({ rating: RatingSchema.optional(), body: reviewText().optional() })
  .strict()
  .refine((b) => b.rating !== undefined || b.body !== undefined, { message: 'rating or body is required' })
  .meta({ id: 'EditReview' });
export const ReviewResponseBody = z.object({ body: reviewText() }).strict().meta({ id: 'ReviewResponse' });

export const CreateInstallBody = z.object({ customer_id: MarketplaceCustomerIdSchema }).strict().meta({ id: 'CreateInstall' });

const ListingParams = z.object({ id: PlatformId('lst') });
const ReviewParams = z.object({ id: ReviewId() });
const InstallParams = z.object({ id: PlatformId('lst'), customer_id: MarketplaceCustomerIdSchema });

export const marketplaceRoutes = defineRoutes([
  {
    operationId: 'searchListings',
    method: 'GET',
    path: '/v1/marketplace/listings',
    summary: 'Browse and search the marketplace (public)',
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'listings.search',
    scope: 'read:marketplace',
    public: true,
    query: SearchListingsQuery,
    success: { status: 200, schema: ListingSearchResultSchema },
  },
  {
    operationId: 'getListing',
    method: 'GET',
    path: '/v1/marketplace/listings/:id',
    summary: 'Get a listing (public; retired listings are not found)',
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'listings.get',
    scope: 'read:marketplace',
    public: true,
    params: ListingParams,
    success: { status: 200, schema: ListingSchema },
  },
  {
    operationId: 'createInstall',
    method: 'POST',
    path: '/v1/marketplace/listings/:id/installs',
    summary: 'Install a listing for a platform customer (idempotent: 200 with the active install when there is one)',
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'installs.create',
    scope: 'write:marketplace',
    adminOnly: true,
    params: ListingParams,
    body: CreateInstallBody,
    success: { status: 201, schema: InstallSchema },
    errors: [409],
  },
  {
    operationId: 'deleteInstall',
    method: 'DELETE',
    path: '/v1/marketplace/listings/:id/installs/:customer_id',
    summary: 'Uninstall a listing for a customer (idempotent: the last install when it is already removed)',
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'installs.delete',
    scope: 'write:marketplace',
    adminOnly: true,
    params: InstallParams,
    success: { status: 200, schema: InstallSchema },
  },
  {
    operationId: 'listListingReviews',
    method: 'GET',
    path: '/v1/marketplace/listings/:id/reviews',
    summary: "A listing's reviews with the partner's answers (public), newest first",
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'reviews.list',
    scope: 'read:marketplace',
    public: true,
    params: ListingParams,
    query: PageQuerySchema.strict(),
    success: { status: 200, schema: pageOf(ReviewSchema) },
  },
  {
    operationId: 'submitReview',
    method: 'POST',
    path: '/v1/marketplace/listings/:id/reviews',
    summary: 'Review a listing for a customer who installed it (once per customer; the platform product calls it)',
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'reviews.submit',
    scope: 'write:marketplace',
    adminOnly: true,
    params: ListingParams,
    body: SubmitReviewBody,
    success: { status: 201, schema: ReviewSchema },
    errors: [409],
  },
  {
    operationId: 'editReview',
    method: 'PATCH',
    path: '/v1/marketplace/reviews/:id',
    summary: "Edit a customer's review (the earlier versions stay in its events)",
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'reviews.edit',
    scope: 'write:marketplace',
    adminOnly: true,
    params: ReviewParams,
    body: EditReviewBody,
    success: { status: 200, schema: ReviewSchema },
  },
  {
    operationId: 'respondToReview',
    method: 'PUT',
    path: '/v1/marketplace/reviews/:id/response',
    summary: "The listing's partner answers a review (one answer; putting it again edits it)",
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'reviews.respond',
    scope: 'write:marketplace',
    params: ReviewParams,
    body: ReviewResponseBody,
    success: { status: 200, schema: ReviewSchema },
  },
  {
    operationId: 'listInstalls',
    method: 'GET',
    path: '/v1/marketplace/installs',
    summary: "List installs (a partner sees its own listings' installs)",
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'installs.list',
    scope: 'read:marketplace',
    query: PageQuerySchema.extend({
      listing_id: PlatformId('lst').optional(),
      customer_id: MarketplaceCustomerIdSchema.optional(),
      status: z.enum(['active', 'removed']).optional(),
      partner_id: PlatformId('prt').optional().describe('Admin filter'),
    }).strict(),
    success: { status: 200, schema: pageOf(InstallSchema) },
  },
]);
