import { CreateInstallBody, PageQuerySchema } from '@pep/contracts';
import { parseOrThrow } from '@pep/runtime';
import { listScope, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { listInstalls } from '../projections/installs/index.ts';
import { ListingParams } from './catalog.ts';
import { type HandlerDeps, metaOf, route } from './context.ts';
import { installView } from './views.ts';

const InstallParams = z.object({ id: z.string().min(1).max(64), customer_id: CreateInstallBody.shape.customer_id });
const ListInstallsQuery = PageQuerySchema.extend({
  listing_id: z.string().min(1).max(64).optional(),
  customer_id: CreateInstallBody.shape.customer_id.optional(),
  status: z.enum(['active', 'removed']).optional(),
  partner_id: z.string().min(1).max(64).optional(),
});

/** Installs for platform customers (admin) and the partner's view of its listings' installs. */
export function installHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  return {
    'installs.create': route(deps, async (req) => {
      const { id } = parseOrThrow(ListingParams, req.params);
      const body = parseOrThrow(CreateInstallBody, req.body);
      const res = await deps.installs.install(id, body.customer_id, metaOf(req));
      return ok(installView(res.install), res.created ? 201 : 200);
    }),
    'installs.delete': route(deps, async (req) => {
      const { id, customer_id } = parseOrThrow(InstallParams, req.params);
      return ok(installView(await deps.installs.uninstall(id, customer_id, metaOf(req))));
    }),
    'installs.list': route(deps, async (req) => {
      const q = parseOrThrow(ListInstallsQuery, req.query);
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
