import type { PlatformEvent } from '@pep/contracts';
import {
  aggregateSubject,
  appendToAggregate,
  ConcurrencyConflictError,
  childTraceparent,
  createAggregateLoader,
  type EventBus,
  type ProjectionRunner,
} from '@pep/events';
import { ConflictError, newId, NotFoundError } from '@pep/runtime';
import { decide, type EndpointCommand } from '../domain/webhook-endpoint/decide.ts';
import { type EndpointState, evolve, initialEndpointState } from '../domain/webhook-endpoint/webhook-endpoint.ts';

export interface CommandMeta {
  now: Date;
  /** Only this partner's endpoint may be changed (undefined for admins and the dispatcher itself). */
  partnerScope?: string;
  traceparent?: string;
  correlationid?: string;
}

export type EndpointCommands = ReturnType<typeof createEndpointCommands>;

/**
 * Runs a command against one webhook endpoint aggregate: load (fold its subject), decide, append with
 * optimistic concurrency (retried on a conflict), then wait until the endpoints projection has applied the
 * new events, so the next read and the dispatcher itself see them.
 */
export function createEndpointCommands(opts: { bus: EventBus; projection: () => ProjectionRunner | undefined; source?: string }) {
  const loader = createAggregateLoader<EndpointState>(opts.bus, initialEndpointState, evolve);
  const subjectOf = (id: string) => aggregateSubject(opts.bus.prefix, 'webhook_endpoint', id);

  async function execute(endpointId: string, command: EndpointCommand, meta: CommandMeta): Promise<{ state: EndpointState; seq: number }> {
    for (let attempt = 1; ; attempt++) {
      const subject = subjectOf(endpointId);
      const snap = await loader.load(subject);
      if (meta.partnerScope && snap.state.status !== 'new' && snap.state.partner_id !== meta.partnerScope) {
        throw new NotFoundError('webhook endpoint not found');
      }
      const drafts = decide(command, snap.state);
      if (drafts.length === 0) return { state: snap.state, seq: snap.version };
      const events: PlatformEvent[] = drafts.map((d) => ({
        specversion: '1.0',
        id: newId('evt', meta.now.getTime()),
        source: opts.source ?? 'webhook-dispatcher',
        type: d.type,
        time: meta.now.toISOString(),
        subject: endpointId,
        datacontenttype: 'application/json',
        schemaversion: 1,
        partnerid: d.data.partner_id,
        ...(meta.correlationid ? { correlationid: meta.correlationid } : {}),
        traceparent: childTraceparent(meta.traceparent),
        data: d.data,
      }));
      try {
        const acks = await appendToAggregate(opts.bus, subject, snap.version, events);
        const state = events.reduce(evolve, snap.state);
        const seq = acks[acks.length - 1]?.seq ?? snap.version;
        loader.remember(subject, { state, version: seq });
        await opts.projection()?.waitFor(seq, 10_000);
        return { state, seq };
      } catch (err) {
        if (err instanceof ConcurrencyConflictError && attempt < 5) continue;
        if (err instanceof ConcurrencyConflictError)
          throw new ConflictError('webhook endpoint changed concurrently, retry', { cause: err });
        throw err;
      }
    }
  }

  return { execute };
}
