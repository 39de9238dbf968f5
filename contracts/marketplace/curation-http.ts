import { z } from 'zod';
import { PlatformId, ReviewId } from '../common/ids.ts';
import { safeText } from '../common/text.ts';
import { defineRoutes } from '../http/routes.ts';
import { ReviewReportReasonSchema } from './events.ts';
import { ListingSchema, ReviewSchema } from './http.ts';
import { CategorySlugSchema, DefineCategoryBody, FeatureListingBody, ListingContentSchema } from './listing.ts';

/** Drafts and publishing, featured listings, categories and review moderation (issue 13, items 1, 3, 5 and 7). */

export const ChecklistItemSchema = z.object({
  item: z.enum(['logo_url', 'description', 'screenshots', 'pricing_plans', 'support_email', 'privacy_url', 'terms_url']),
  ok: z.boolean(),
  message: safeText(),
});

export const ListingDraftSchema = z
  .object({
    object: z.literal('listing_draft'),
    listing_id: safeText(),
    draft: ListingContentSchema.describe('What goes live on publish (the live content when nothing was saved since)'),
    checklist: z
      .array(ChecklistItemSchema)
      .describe("The pre-submission checklist (GitHub Marketplace's): every item must be ok to publish"),
    ready: z.boolean(),
    saved_at: safeText().nullable(),
    published_at: safeText().nullable().describe('When content last went live (null: never)'),
    unlisted: z.boolean().describe('Taken off the marketplace by its partner or an admin (POST …/relist shows it again)'),
  })
  .meta({ id: 'ListingDraft' });
export type ListingDraft = z.output<typeof ListingDraftSchema>;

export const CategorySchema = z
  .object({
    object: z.literal('category'),
    slug: CategorySlugSchema,
    name: safeText(),
    parent: CategorySlugSchema.nullable(),
    listings: z.number().int().describe('Listed (not retired) listings in it'),
  })
  .meta({ id: 'Category' });
export type Category = z.output<typeof CategorySchema>;

export const ReportReviewBody = z
  .object({ reason: ReviewReportReasonSchema, note: safeText().trim().min(1).max(1000).optional() })
  .strict()
  .meta({ id: 'ReportReview' });
export const HideReviewBody = z
  .object({ reason: safeText().trim().min(1).max(500) })
  .strict()
  .meta({ id: 'HideReview' });

export const FeaturedListingsQuery = z.object({ limit: z.coerce.number().int().min(1).max(50).default(12) }).strict();
export const ListCategoriesQuery = z.object({}).strict();

const ListingParams = z.object({ id: PlatformId('lst') });
const ReviewParams = z.object({ id: ReviewId() });
const CategoryParams = z.object({ slug: CategorySlugSchema });
const common = { tag: 'Marketplace', service: 'marketplace' } as const;

export const marketplaceCurationRoutes = defineRoutes([
  {
    ...common,
    operationId: 'getListingDraft',
    method: 'GET',
    path: '/v1/marketplace/listings/:id/draft',
    summary: "The listing's draft content and its pre-submission checklist (the listing's partner or an admin)",
    pattern: 'listings.draft.get',
    scope: 'read:marketplace',
    params: ListingParams,
    success: { status: 200, schema: ListingDraftSchema },
  },
  {
    ...common,
    operationId: 'saveListingDraft',
    method: 'PUT',
    path: '/v1/marketplace/listings/:id/draft',
    summary: 'Save the listing’s marketplace content as a draft (the live listing changes on publish)',
    pattern: 'listings.draft.save',
    scope: 'write:marketplace',
    params: ListingParams,
    body: ListingContentSchema,
    success: { status: 200, schema: ListingDraftSchema },
  },
  {
    ...common,
    operationId: 'publishListingDraft',
    method: 'POST',
    path: '/v1/marketplace/listings/:id/draft/publish',
    summary: 'Publish the draft: 422 naming every missing checklist item, else the draft goes live',
    pattern: 'listings.draft.publish',
    scope: 'write:marketplace',
    params: ListingParams,
    success: { status: 200, schema: ListingSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'unlistListing',
    method: 'POST',
    path: '/v1/marketplace/listings/:id/unlist',
    summary: 'Take the listing off the marketplace (its partner or an admin; idempotent): hidden and not installable, installs stay',
    pattern: 'listings.unlist',
    scope: 'write:marketplace',
    params: ListingParams,
    success: { status: 200, schema: ListingDraftSchema },
  },
  {
    ...common,
    operationId: 'relistListing',
    method: 'POST',
    path: '/v1/marketplace/listings/:id/relist',
    summary: 'Show an unlisted listing again (its partner or an admin; idempotent)',
    pattern: 'listings.relist',
    scope: 'write:marketplace',
    params: ListingParams,
    success: { status: 200, schema: ListingSchema },
  },
  {
    ...common,
    operationId: 'featureListing',
    method: 'PUT',
    path: '/v1/marketplace/listings/:id/featured',
    summary: 'Feature a listing for a window (admin)',
    pattern: 'listings.feature',
    scope: 'write:marketplace',
    adminOnly: true,
    params: ListingParams,
    body: FeatureListingBody,
    success: { status: 200, schema: ListingSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'unfeatureListing',
    method: 'DELETE',
    path: '/v1/marketplace/listings/:id/featured',
    summary: 'End a listing’s featured window (admin; idempotent)',
    pattern: 'listings.unfeature',
    scope: 'write:marketplace',
    adminOnly: true,
    params: ListingParams,
    success: { status: 200, schema: ListingSchema },
  },
  {
    ...common,
    operationId: 'listFeaturedListings',
    method: 'GET',
    path: '/v1/marketplace/featured',
    summary: "Featured listings (public): the admins' open windows first, then listings that meet the criteria (docs/marketplace.md)",
    pattern: 'listings.featured',
    scope: 'read:marketplace',
    public: true,
    query: FeaturedListingsQuery,
    success: {
      status: 200,
      schema: z.object({
        object: z.literal('list'),
        data: z.array(z.object({ reason: z.enum(['curated', 'criteria']), listing: ListingSchema })),
      }),
    },
  },
  {
    ...common,
    operationId: 'listCategories',
    method: 'GET',
    path: '/v1/marketplace/categories',
    summary: 'The category list (public)',
    pattern: 'categories.list',
    scope: 'read:marketplace',
    public: true,
    query: ListCategoriesQuery,
    success: { status: 200, schema: z.object({ object: z.literal('list'), data: z.array(CategorySchema) }) },
  },
  {
    ...common,
    operationId: 'defineCategory',
    method: 'PUT',
    path: '/v1/marketplace/categories/:slug',
    summary: 'Add or rename a category (admin)',
    pattern: 'categories.define',
    scope: 'write:marketplace',
    adminOnly: true,
    params: CategoryParams,
    body: DefineCategoryBody,
    success: { status: 200, schema: CategorySchema },
  },
  {
    ...common,
    operationId: 'removeCategory',
    method: 'DELETE',
    path: '/v1/marketplace/categories/:slug',
    summary: 'Remove a category (admin); 409 while other categories name it as their parent',
    pattern: 'categories.remove',
    scope: 'write:marketplace',
    adminOnly: true,
    params: CategoryParams,
    success: { status: 204, schema: null },
    errors: [409],
  },
  {
    ...common,
    operationId: 'reportReview',
    method: 'POST',
    path: '/v1/marketplace/reviews/:id/reports',
    summary: "Report a review for moderation (the listing's partner, or an admin for a customer)",
    pattern: 'reviews.report',
    scope: 'write:marketplace',
    params: ReviewParams,
    body: ReportReviewBody,
    success: { status: 201, schema: ReviewSchema },
  },
  {
    ...common,
    operationId: 'hideReview',
    method: 'POST',
    path: '/v1/marketplace/reviews/:id/hide',
    summary: 'Hide a review (admin): kept, not shown, not counted',
    pattern: 'reviews.hide',
    scope: 'write:marketplace',
    adminOnly: true,
    params: ReviewParams,
    body: HideReviewBody,
    success: { status: 200, schema: ReviewSchema },
  },
  {
    ...common,
    operationId: 'unhideReview',
    method: 'POST',
    path: '/v1/marketplace/reviews/:id/unhide',
    summary: 'Show a hidden review again (admin)',
    pattern: 'reviews.unhide',
    scope: 'write:marketplace',
    adminOnly: true,
    params: ReviewParams,
    success: { status: 200, schema: ReviewSchema },
  },
]);
