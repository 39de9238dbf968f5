import { CreateInstallBody, type Install, type Listing, PageQuerySchema, type RpcRequest, SearchListingsQuery } from '@pep/contracts';
import { type Logger, NotFoundError, parseOrThrow } from '@pep/runtime';
import { handler, listScope, ok, type RpcHandler } from '@pep/service';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { InstallUseCases } from '../app/installs.ts';
import type { MarketplaceDB } from '../db/schema.ts';
import type { InstallRecord } from '../domain/install/install.ts';
import { trendingScore } from '../domain/listing/trending.ts';
import { findListing, type ListingRow } from '../projections/catalog/index.ts';
import { searchListings } from '../projections/catalog/search.ts';
import { type InstallRow, listInstalls } from '../projections/installs/index.ts';

export interface HandlerDeps {
  db: Kysely<MarketplaceDB>;
  logger: Logger;
  installs: InstallUseCases;
  now: () => Date;
}

const iso = (v: Date | string) => new Date(v).toISOString();

export function listingView(r: ListingRow, nowMs: number): Listing {
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

const ListingParams = z.object({ id: z.string().min(1).max(64) });
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

  return {
    'listings.search': h(async (req) => {
      const q = parseOrThrow(SearchListingsQuery, req.query ?? {});
      const res = await searchListings(deps.db, q);
      const nowMs = deps.now().getTime();
      return ok({
        object: 'list',
        data: res.rows.map((r) => listingView(r, nowMs)),
        has_more: res.has_more,
        next_cursor: res.next_cursor,
        total: res.total,
        facets: res.facets,
      });
    }),
    'listings.get': h(async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const row = await findListing(deps.db, id);
      if (!row) throw new NotFoundError(`listing ${id} not found`);
      return ok(listingView(row, deps.now().getTime()));
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
