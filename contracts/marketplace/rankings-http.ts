import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineRoutes } from '../http/routes.ts';
import { ListingSchema } from './http.ts';

/**
 * The marketplace's rankings, each a projection rebuilt exactly from the stream (docs/marketplace.md):
 * trending (install velocity, half-life 7 days), popular (active installs), new (first publish date) and
 * featured (the admins' open windows, then listings that meet the criteria: rating, review count, a healthy
 * integration).
 */
export const RankingKindSchema = z.enum(['trending', 'popular', 'new', 'featured']);
export type RankingKind = z.output<typeof RankingKindSchema>;

export const RankingParams = z.object({ kind: RankingKindSchema }).strict();
export const RankingQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(50).default(12),
    cursor: safeText().max(200).optional().describe('next_cursor of the previous page (not for featured: one page)'),
  })
  .strict();

export const RankingEntrySchema = z
  .object({
    rank: z.number().int().min(1),
    reason: z.enum(['curated', 'criteria']).nullable().describe('Why a featured listing is featured; null for the other kinds'),
    listing: ListingSchema,
  })
  .meta({ id: 'RankingEntry' });

export const marketplaceRankingRoutes = defineRoutes([
  {
    tag: 'Marketplace',
    service: 'marketplace',
    operationId: 'getMarketplaceRanking',
    method: 'GET',
    path: '/v1/marketplace/rankings/:kind',
    summary: 'A ranking (public): trending, popular, new or featured',
    pattern: 'rankings.get',
    scope: 'read:marketplace',
    public: true,
    params: RankingParams,
    query: RankingQuery,
    success: {
      status: 200,
      schema: z.object({
        object: z.literal('list'),
        kind: RankingKindSchema,
        data: z.array(RankingEntrySchema),
        has_more: z.boolean(),
        next_cursor: safeText().nullable(),
      }),
    },
  },
]);
