import type { RpcHandler } from '@pep/service';
import type { HandlerDeps } from './deps.ts';
import { applicationHandlers } from './applications.ts';
import { integrationHandlers } from './integrations.ts';
import { partnerHandlers } from './partners.ts';
import { ticketHandlers } from './tickets.ts';
import { identityHandlers } from './identity.ts';
import { accountHandlers } from './accounts.ts';

/** Every RPC handler of the registry, composed per area (each area adds one line). */
export function registryHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  return {
    ...partnerHandlers(deps),
    ...applicationHandlers(deps),
    ...integrationHandlers(deps),
    ...ticketHandlers(deps),
    ...identityHandlers(deps),
    ...accountHandlers(deps),
  };
}
