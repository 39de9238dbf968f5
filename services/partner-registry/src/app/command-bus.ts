import type { PlatformEvent, RpcRequest } from '@pep/contracts';
import {
  aggregateSubject,
  appendToAggregate,
  ConcurrencyConflictError,
  createAggregateLoader,
  type EventBus,
  type ProjectionRunner,
} from '@pep/events';
import { ConflictError, type Logger, newId } from '@pep/runtime';

/** Where a command came from: copied onto every event it causes. */
export interface CommandMeta {
  /** The tenant the events belong to (the `partnerid` extension). */
  partnerId: string | undefined;
  requestId?: string;
  traceparent?: string;
}

export function metaFrom(req: RpcRequest<unknown, unknown, unknown>, partnerId: string | undefined): CommandMeta {
  return { partnerId, requestId: req.request_id, traceparent: req.traceparent };
}

export interface Aggregate<S, E extends { type: string; data: unknown }> {
  /** Aggregate kind: the subject token (`<prefix>.agg.<kind>.<id>`). */
  kind: string;
  initial: () => S;
  evolve: (state: S, event: PlatformEvent & { seq?: number }) => S;
  /** Read model to wait for before replying (read-your-writes), when the kind has one. */
  projection?: string;
  _events?: E;
}

export interface CommandResult<S> {
  state: S;
  /** Stream sequence of the aggregate's last event (unchanged when the command emitted nothing). */
  version: number;
  events: PlatformEvent[];
}

const SOURCE = 'urn:pep:partner-registry';

/**
 * Runs commands against event-sourced aggregates: load (fold the subject), decide (pure), append with the
 * loaded version as the expected last subject sequence. A concurrent append makes the append fail; the
 * command is then decided again on fresh state, a few times, before a 409 is reported. After a successful
 * append it waits until the aggregate's read model has applied the new events, so a read right after the
 * reply sees them.
 */
export function createCommandBus(opts: {
  bus: EventBus;
  logger: Logger;
  projections: Map<string, ProjectionRunner>;
  maxAttempts?: number;
  now?: () => Date;
}) {
  const loaders = new Map<string, ReturnType<typeof createAggregateLoader<unknown>>>();
  const maxAttempts = opts.maxAttempts ?? 5;
  const now = opts.now ?? (() => new Date());

  function loaderFor<S>(agg: Aggregate<S, { type: string; data: unknown }>) {
    let l = loaders.get(agg.kind);
    if (!l) {
      l = createAggregateLoader<unknown>(opts.bus, agg.initial, agg.evolve as (s: unknown, e: PlatformEvent) => unknown);
      loaders.set(agg.kind, l);
    }
    return l as unknown as ReturnType<typeof createAggregateLoader<S>>;
  }

  return {
    subject: (kind: string, id: string) => aggregateSubject(opts.bus.prefix, kind, id),

    async load<S, E extends { type: string; data: unknown }>(agg: Aggregate<S, E>, id: string) {
      return loaderFor(agg).load(aggregateSubject(opts.bus.prefix, agg.kind, id));
    },

    async execute<S, E extends { type: string; data: unknown }>(
      agg: Aggregate<S, E>,
      id: string,
      meta: CommandMeta,
      decide: (state: S) => E[],
    ): Promise<CommandResult<S>> {
      const subject = aggregateSubject(opts.bus.prefix, agg.kind, id);
      const loader = loaderFor(agg);
      for (let attempt = 1; ; attempt++) {
        const snap = await loader.load(subject);
        const decided = decide(snap.state);
        if (decided.length === 0) return { state: snap.state, version: snap.version, events: [] };
        const time = now().toISOString();
        const events: PlatformEvent[] = decided.map((d) => ({
          specversion: '1.0',
          id: newId('evt'),
          source: SOURCE,
          type: d.type,
          time,
          subject: `${agg.kind}/${id}`,
          datacontenttype: 'application/json',
          schemaversion: 1,
          data: d.data,
          ...(meta.partnerId ? { partnerid: meta.partnerId } : {}),
          ...(meta.requestId ? { correlationid: meta.requestId } : {}),
          ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
        }));
        try {
          const acks = await appendToAggregate(opts.bus, subject, snap.version, events);
          let state = snap.state;
          events.forEach((e, i) => {
            state = agg.evolve(state, { ...e, seq: (acks[i] as { seq: number }).seq });
          });
          const version = (acks[acks.length - 1] as { seq: number }).seq;
          loader.remember(subject, { state, version });
          if (agg.projection) {
            await opts.projections
              .get(agg.projection)
              ?.waitFor(version, 5_000)
              .catch((err) => opts.logger.warn('read model lags behind a command', { projection: agg.projection, err }));
          }
          return { state, version, events };
        } catch (err) {
          if (!(err instanceof ConcurrencyConflictError)) throw err;
          if (attempt >= maxAttempts) {
            throw new ConflictError(`${agg.kind} ${id} was changed concurrently; retry the request`, { cause: err });
          }
          opts.logger.debug('concurrent append, deciding again on fresh state', { subject, attempt });
          await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
        }
      }
    },
  };
}
export type CommandBus = ReturnType<typeof createCommandBus>;
