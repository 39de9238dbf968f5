import { type CommandMeta, createCommandBus, type EventBus, type ProjectionRunner } from '@pep/events';
import type { Logger } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { MarketplaceDB } from '../db/schema.ts';
import { SOURCE } from './integration-events.ts';

/** What a request carries into a use case: who acts, its trace and request id (the command's correlation). */
export interface CallMeta {
  by: string;
  traceparent?: string | undefined;
  requestId?: string | undefined;
}

/** What every marketplace use case is built from. */
export interface UseCaseDeps {
  bus: EventBus;
  db: Kysely<MarketplaceDB>;
  logger: Logger;
  projections: Map<string, ProjectionRunner>;
  now: () => Date;
}

/** The marketplace's command bus, and the command metadata of a call (for the tenant the events belong to). */
export function marketplaceCommands(opts: UseCaseDeps) {
  const commands = createCommandBus({ bus: opts.bus, logger: opts.logger, projections: opts.projections, source: SOURCE, now: opts.now });
  const meta = (partnerId: string | undefined, m: CallMeta): CommandMeta => ({
    partnerId,
    traceparent: m.traceparent,
    correlationId: m.requestId,
  });
  return { commands, meta };
}
