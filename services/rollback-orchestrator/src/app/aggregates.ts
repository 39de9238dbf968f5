import { type AggregateKind, type CommandMeta, createCommandBus, type EventBus, type ProjectionRunner } from '@pep/events';
import type { Logger } from '@pep/runtime';

export type { AggregateKind } from '@pep/events';

export interface EventMeta extends CommandMeta {
  /** The customer's partner: the `partnerid` of every event, so partners can subscribe through webhooks. */
  partnerId: string;
}

/**
 * load → decide (pure) → append with the loaded version as the expected last subject sequence (the shared
 * command bus of @pep/events); a concurrent append is decided again on fresh state, which usually decides
 * nothing: someone else did it.
 */
export function createAggregates(opts: { bus: EventBus; logger: Logger; projections: Map<string, ProjectionRunner>; now?: () => Date }) {
  const commands = createCommandBus({ ...opts, source: 'urn:pep:rollback-orchestrator', maxAttempts: 8 });
  return {
    load: commands.load,
    execute<S, E extends { type: string; data: unknown }>(
      agg: AggregateKind<S>,
      id: string,
      meta: EventMeta,
      decide: (state: S) => E[],
      waitProjection?: string,
      /** Skip the load on the first attempt and expect a new aggregate (the append fails if it exists, then it loads). */
      assumeNew = false,
    ) {
      return commands.execute(agg, id, meta, decide, { waitProjection, assumeNew });
    },
  };
}
export type Aggregates = ReturnType<typeof createAggregates>;
