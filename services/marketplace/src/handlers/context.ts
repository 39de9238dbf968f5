import type { RpcReply, RpcRequest } from '@pep/contracts';
import type { Logger } from '@pep/runtime';
import { handler, type RpcHandler } from '@pep/service';
import type { Kysely } from 'kysely';
import type { CategoryUseCases } from '../app/categories.ts';
import type { CallMeta, InstallUseCases } from '../app/installs.ts';
import type { ListingUseCases } from '../app/listings.ts';
import type { ReviewUseCases } from '../app/reviews.ts';
import type { MarketplaceDB } from '../db/schema.ts';

export interface HandlerDeps {
  db: Kysely<MarketplaceDB>;
  logger: Logger;
  installs: InstallUseCases;
  reviews: ReviewUseCases;
  listings: ListingUseCases;
  categories: CategoryUseCases;
  now: () => Date;
}

/** Wraps one route's function: thrown AppErrors become problem replies (libs/service). */
export const route = (deps: HandlerDeps, fn: (req: RpcRequest) => Promise<RpcReply>): RpcHandler => handler(deps.logger, fn);

/** Who called and under which trace: copied onto the events a command appends. */
export const metaOf = (req: RpcRequest): CallMeta => ({
  by: req.principal.credential_id,
  traceparent: req.traceparent,
  requestId: req.request_id,
});
