import type { RpcHandler } from '@pep/service';
import { catalogHandlers } from './catalog.ts';
import type { HandlerDeps } from './context.ts';
import { installHandlers } from './installs.ts';
import { listingHandlers } from './listings.ts';
import { reviewHandlers } from './reviews.ts';

export type { HandlerDeps } from './context.ts';
export { installView, listingView, reviewView } from './views.ts';

/** Every RPC pattern of the marketplace (contracts/marketplace: the routes name them). */
export function marketplaceHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  return { ...catalogHandlers(deps), ...listingHandlers(deps), ...installHandlers(deps), ...reviewHandlers(deps) };
}
