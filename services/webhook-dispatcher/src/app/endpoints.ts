import type { PlatformEvent } from '@pep/contracts';
import { type AggregateKind, type CommandBus, childTraceparent } from '@pep/events';
import { NotFoundError } from '@pep/runtime';
import { decide, type EndpointCommand } from '../domain/webhook-endpoint/decide.ts';
import { type EndpointState, evolve, initialEndpointState, isEndpointEvent } from '../domain/webhook-endpoint/webhook-endpoint.ts';
import { ENDPOINTS_PROJECTION } from '../projections/endpoints/index.ts';

/** The webhook endpoint aggregate as the shared command bus runs it (its read model is waited for). */
export const endpointAggregate: AggregateKind<EndpointState> = {
  kind: 'webhook_endpoint',
  initial: initialEndpointState,
  evolve: (state: EndpointState, e: PlatformEvent) => (isEndpointEvent(e) ? evolve(state, e) : state),
  projection: ENDPOINTS_PROJECTION,
};

/** Who runs an endpoint command, copied onto its events. */
export interface EndpointCommandOrigin {
  /** Only this partner's endpoint may be changed (undefined for admins and the dispatcher itself). */
  partnerScope?: string | undefined;
  traceparent?: string | undefined;
  correlationId?: string | undefined;
}

export type EndpointCommands = ReturnType<typeof endpointCommands>;

/**
 * Endpoint commands through @pep/events' command bus: load, decide (the pure decider), append with
 * optimistic concurrency, wait for the endpoints read model. An endpoint outside the caller's partner is
 * "not found". Every event carries its endpoint's partner and a child span of the caller's trace.
 */
export function endpointCommands(commands: CommandBus) {
  return {
    async execute(endpointId: string, command: EndpointCommand, origin: EndpointCommandOrigin = {}) {
      const r = await commands.execute(
        endpointAggregate,
        endpointId,
        { correlationId: origin.correlationId, traceparent: childTraceparent(origin.traceparent) },
        (state) => {
          if (origin.partnerScope && state.status !== 'new' && state.partner_id !== origin.partnerScope) {
            throw new NotFoundError('webhook endpoint not found');
          }
          return decide(command, state).map((d) => ({ ...d, partnerid: d.data.partner_id }));
        },
      );
      return { state: r.state, seq: r.version };
    },
  };
}
