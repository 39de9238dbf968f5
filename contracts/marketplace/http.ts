import { z } from 'zod';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { MarketplaceCustomerIdSchema } from './events.ts';

export const ListingStatusSchema = z
  .enum(['published', 'deprecated'])
  .describe('deprecated: still shown (with the reason) but takes no new installs; retired listings are unlisted');

/** How a listing is priced, as the listing states it (the billing service's prices replace this once it exists). */
export const PricingModelSchema = z.enum(['free', 'flat', 'usage_based', 'free_trial']);

export const ListingSchema = z
  .object({
    id: z.string(),
    object: z.literal('listing'),
    application_id: z.string(),
    partner_id: z.string(),
    partner_name: z.string().nullable(),
    name: z.string(),
    tagline: z.string().nullable().describe('Not carried by application.published yet: null until listing content exists'),
    description: z.string(),
    categories: z.array(z.string()),
    pricing: PricingModelSchema.nullable().describe('null: the listing states no pricing yet'),
    official: z.boolean().describe("Badge of a technology partner's listing"),
    status: ListingStatusSchema,
    status_reason: z.string().nullable().describe('Why it was deprecated, when it was'),
    privacy_url: z.string().nullable(),
    terms_url: z.string().nullable(),
    active_installs: z.number().int(),
    total_installs: z.number().int().describe('Installs ever made, uninstalled ones included'),
    trending_score: z
      .number()
      .describe('Install velocity: each install counts 1 and each uninstall -1, halving every 7 days (docs/marketplace.md)'),
    published_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Listing' });
export type Listing = z.output<typeof ListingSchema>;

export const ListingSortSchema = z
  .enum(['relevance', 'installs', 'trending', 'newest'])
  .describe('Default: relevance when `q` is given, else installs');

export const SearchListingsQuery = z
  .object({
    q: z.string().trim().max(200).optional().describe('Full text over name, tagline and description; typos and prefixes match too'),
    category: z.string().trim().min(1).max(64).optional(),
    pricing: PricingModelSchema.optional(),
    official: z
      .union([z.boolean(), z.enum(['true', 'false'])])
      .optional()
      .transform((v) => (v === undefined ? undefined : v === true || v === 'true'))
      .describe('Only listings with (true) or without (false) the official badge'),
    sort: ListingSortSchema.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    cursor: z.string().min(1).max(512).optional().describe('The `next_cursor` of the previous page'),
  })
  .strict();
export type SearchListings = z.output<typeof SearchListingsQuery>;

const FacetCountSchema = z.object({ value: z.string(), count: z.number().int() });

export const ListingSearchResultSchema = z
  .object({
    object: z.literal('list'),
    data: z.array(ListingSchema),
    has_more: z.boolean(),
    next_cursor: z.string().nullable(),
    total: z.number().int().describe('Listings matching the query and every filter'),
    facets: z
      .object({
        category: z.array(FacetCountSchema),
        pricing: z.array(FacetCountSchema).describe('"unspecified" counts listings that state no pricing'),
        official: z.array(FacetCountSchema),
      })
      .describe('Counts over the listings matching the query and every filter'),
  })
  .meta({ id: 'ListingSearchResult' });

export const InstallSchema = z
  .object({
    id: z.string(),
    object: z.literal('install'),
    listing_id: z.string(),
    application_id: z.string(),
    partner_id: z.string(),
    customer_id: z.string(),
    status: z.enum(['active', 'removed']),
    installed_at: z.string(),
    removed_at: z.string().nullable(),
  })
  .meta({ id: 'Install' });
export type Install = z.output<typeof InstallSchema>;

export const CreateInstallBody = z.object({ customer_id: MarketplaceCustomerIdSchema }).strict().meta({ id: 'CreateInstall' });

const ListingParams = z.object({ id: z.string().min(1).max(64) });
const InstallParams = z.object({ id: z.string().min(1).max(64), customer_id: MarketplaceCustomerIdSchema });

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
    operationId: 'listInstalls',
    method: 'GET',
    path: '/v1/marketplace/installs',
    summary: "List installs (a partner sees its own listings' installs)",
    tag: 'Marketplace',
    service: 'marketplace',
    pattern: 'installs.list',
    scope: 'read:marketplace',
    query: PageQuerySchema.extend({
      listing_id: z.string().min(1).max(64).optional(),
      customer_id: MarketplaceCustomerIdSchema.optional(),
      status: z.enum(['active', 'removed']).optional(),
      partner_id: z.string().min(1).max(64).optional().describe('Admin filter'),
    }).strict(),
    success: { status: 200, schema: pageOf(InstallSchema) },
  },
]);
