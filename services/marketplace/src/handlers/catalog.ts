import { FeaturedListingsQuery, ListCategoriesQuery, RankingParams, RankingQuery, SearchListingsQuery } from '@pep/contracts';
import { NotFoundError, parseOrThrow, ValidationError } from '@pep/runtime';
import { ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { BAYES_M } from '../domain/review/rating.ts';
import { listCategories } from '../projections/categories/index.ts';
import { featuredListings, findListing } from '../projections/catalog/index.ts';
import { createSearchCache } from '../projections/catalog/search-cache.ts';
import { marketplaceMeanRating } from '../projections/reviews/index.ts';
import { type HandlerDeps, route } from './context.ts';
import { listingView } from './views.ts';

/** A ranking's cursor is the search cursor and the rank of its last row (`<cursor>.<rank>`). */
function rankOffset(cursor: string): number {
  const n = Number(cursor.slice(cursor.lastIndexOf('.') + 1));
  if (!cursor.includes('.') || !Number.isInteger(n) || n < 0)
    throw new ValidationError([{ path: 'cursor', message: 'not a cursor this ranking returned' }]);
  return n;
}

export const ListingParams = z.object({ id: z.string().min(1).max(64) });

/** The public reads: search, one listing, featured listings and the category list. */
export function catalogHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const searches = createSearchCache(deps.db);
  return {
    'listings.search': route(deps, async (req) => {
      const q = parseOrThrow(SearchListingsQuery, req.query);
      const { result: res, prior } = await searches.search(q);
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
    'listings.get': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const [row, prior] = await Promise.all([findListing(deps.db, id), marketplaceMeanRating(deps.db)]);
      if (!row) throw new NotFoundError(`listing ${id} not found`);
      return ok(listingView(row, deps.now().getTime(), prior));
    }),
    'listings.featured': route(deps, async (req) => {
      const q = parseOrThrow(FeaturedListingsQuery, req.query);
      const now = deps.now();
      const prior = await marketplaceMeanRating(deps.db);
      const rows = await featuredListings(deps.db, { now, limit: q.limit, prior, m: BAYES_M });
      return ok({ object: 'list', data: rows.map((r) => ({ reason: r.reason, listing: listingView(r.row, now.getTime(), prior) })) });
    }),
    // trending, popular and new are the search's sort orders without a query (cached the same way); featured its own
    'rankings.get': route(deps, async (req) => {
      const { kind } = parseOrThrow(RankingParams, req.params);
      const q = parseOrThrow(RankingQuery, req.query ?? {});
      const now = deps.now();
      if (kind === 'featured') {
        const prior = await marketplaceMeanRating(deps.db);
        const rows = await featuredListings(deps.db, { now, limit: q.limit, prior, m: BAYES_M });
        const data = rows.map((r, i) => ({ rank: i + 1, reason: r.reason, listing: listingView(r.row, now.getTime(), prior) }));
        return ok({ object: 'list', kind, data, has_more: false, next_cursor: null });
      }
      const sort = kind === 'popular' ? 'installs' : kind === 'new' ? 'newest' : 'trending';
      const offset = q.cursor ? rankOffset(q.cursor) : 0;
      const cursor = q.cursor ? q.cursor.slice(0, q.cursor.lastIndexOf('.')) : undefined;
      const { result, prior } = await searches.search({ sort, limit: q.limit, cursor });
      const data = result.rows.map((r, i) => ({ rank: offset + i + 1, reason: null, listing: listingView(r, now.getTime(), prior) }));
      const next = result.next_cursor ? `${result.next_cursor}.${offset + result.rows.length}` : null;
      return ok({ object: 'list', kind, data, has_more: result.has_more, next_cursor: next });
    }),
    'categories.list': route(deps, async (req) => {
      parseOrThrow(ListCategoriesQuery, req.query);
      const rows = await listCategories(deps.db);
      return ok({ object: 'list', data: rows.map((c) => ({ object: 'category', ...c })) });
    }),
  };
}
