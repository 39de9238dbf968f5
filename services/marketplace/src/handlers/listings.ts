import { DefineCategoryBody, FeatureListingBody, ListingContentSchema } from '@pep/contracts';
import { NotFoundError, parseOrThrow } from '@pep/runtime';
import { ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { listCategories } from '../projections/categories/index.ts';
import { findListing } from '../projections/catalog/index.ts';
import { marketplaceMeanRating } from '../projections/reviews/index.ts';
import { ListingParams } from './catalog.ts';
import { type HandlerDeps, metaOf, route } from './context.ts';
import { draftView, listingView } from './views.ts';

const CategoryParams = z.object({ slug: z.string().min(1).max(64) });

/** Drafts and publishing (the listing's partner or an admin), featuring and categories (admin). */
export function listingHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  /** The listing as shown after a command (the command bus waited for the catalog). */
  const shown = async (id: string) => {
    const [row, prior] = await Promise.all([findListing(deps.db, id), marketplaceMeanRating(deps.db)]);
    if (!row) throw new NotFoundError(`listing ${id} not found`);
    return ok(listingView(row, deps.now().getTime(), prior));
  };
  return {
    'listings.draft.get': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      return ok(draftView(id, await deps.listings.draft(id, req.principal)));
    }),
    'listings.draft.save': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const body = parseOrThrow(ListingContentSchema, req.body);
      return ok(draftView(id, await deps.listings.saveDraft(id, req.principal, body, metaOf(req))));
    }),
    'listings.draft.publish': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      await deps.listings.publish(id, req.principal, metaOf(req));
      return shown(id);
    }),
    'listings.unlist': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      return ok(draftView(id, await deps.listings.setListed(id, req.principal, false, metaOf(req))));
    }),
    'listings.relist': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      await deps.listings.setListed(id, req.principal, true, metaOf(req));
      return shown(id);
    }),
    'listings.feature': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const body = parseOrThrow(FeatureListingBody, req.body);
      await deps.listings.feature(id, req.principal, body, metaOf(req));
      return shown(id);
    }),
    'listings.unfeature': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      await deps.listings.unfeature(id, req.principal, metaOf(req));
      return shown(id);
    }),
    'categories.define': route(deps, async (req) => {
      const { slug } = parseOrThrow(CategoryParams, req.params);
      const body = parseOrThrow(DefineCategoryBody, req.body);
      await deps.categories.define(slug, body, metaOf(req));
      const row = (await listCategories(deps.db)).find((c) => c.slug === slug);
      if (!row) throw new NotFoundError(`category ${slug} not found`);
      return ok({ object: 'category', ...row });
    }),
    'categories.remove': route(deps, async (req) => {
      const { slug } = parseOrThrow(CategoryParams, req.params);
      await deps.categories.remove(slug, metaOf(req));
      return ok(null, 204);
    }),
  };
}
