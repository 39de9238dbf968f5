import type { RpcRequest } from '@pep/contracts';
import { type CommandMeta, createCommandBus as createSharedCommandBus, type EventBus, type ProjectionRunner } from '@pep/events';
import type { Logger } from '@pep/runtime';

export type { CommandBus, CommandMeta, CommandResult } from '@pep/events';

/** Where a command came from (the request) and which tenant its events belong to. */
export function metaFrom(req: RpcRequest<unknown, unknown, unknown>, partnerId: string | undefined): CommandMeta {
  return { partnerId, correlationId: req.request_id, traceparent: req.traceparent };
}

/** The registry's command bus: the shared load → decide → append-with-expected-version loop of @pep/events. */
export function createCommandBus(opts: {
  bus: EventBus;
  logger: Logger;
  projections: Map<string, ProjectionRunner>;
  maxAttempts?: number;
  now?: () => Date;
}) {
  return createSharedCommandBus({ ...opts, source: 'urn:pep:partner-registry' });
}
