import type { PlatformEvent } from '@pep/contracts';
import {
  aggregateSubject,
  appendToAggregate,
  type AggregateSnapshot,
  ConcurrencyConflictError,
  createAggregateLoader,
  type EventBus,
  type ProjectionRunner,
} from '@pep/events';
import { ConflictError, type Logger, newId } from '@pep/runtime';

export interface AggregateKind<S> {
  kind: string;
  initial: () => S;
  evolve: (state: S, event: PlatformEvent) => S;
}

export interface EventMeta {
  /** The customer's partner: the `partnerid` of every event, so partners can subscribe through webhooks. */
  partnerId: string;
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
}

const SOURCE = 'urn:pep:rollback-orchestrator';

/**
 * load → decide (pure) → append with the loaded version as the expected last subject sequence; a
 * concurrent append is decided again on fresh state (which usually decides nothing: someone else did it).
 */
export function createAggregates(opts: { bus: EventBus; logger: Logger; projections: Map<string, ProjectionRunner>; now?: () => Date }) {
  const loaders = new Map<string, ReturnType<typeof createAggregateLoader<unknown>>>();
  const now = opts.now ?? (() => new Date());
  const loaderFor = <S>(agg: AggregateKind<S>) => {
    let l = loaders.get(agg.kind);
    if (!l) {
      l = createAggregateLoader<unknown>(opts.bus, agg.initial, agg.evolve as (s: unknown, e: PlatformEvent) => unknown);
      loaders.set(agg.kind, l);
    }
    return l as unknown as ReturnType<typeof createAggregateLoader<S>>;
  };
  return {
    load<S>(agg: AggregateKind<S>, id: string): Promise<AggregateSnapshot<S>> {
      return loaderFor(agg).load(aggregateSubject(opts.bus.prefix, agg.kind, id));
    },
    async execute<S, E extends { type: string; data: unknown }>(
      agg: AggregateKind<S>,
      id: string,
      meta: EventMeta,
      decide: (state: S) => E[],
      waitProjection?: string,
      /** Skip the load on the first attempt and expect a new aggregate (the append fails if it exists, then it loads). */
      assumeNew = false,
    ): Promise<{ state: S; version: number; events: PlatformEvent[] }> {
      const subject = aggregateSubject(opts.bus.prefix, agg.kind, id);
      const loader = loaderFor(agg);
      for (let attempt = 1; ; attempt++) {
        const snap = assumeNew && attempt === 1 ? { state: agg.initial(), version: 0 } : await loader.load(subject);
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
          partnerid: meta.partnerId,
          ...(meta.correlationId ? { correlationid: meta.correlationId } : {}),
          ...(meta.causationId ? { causationid: meta.causationId } : {}),
          ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
        }));
        try {
          const acks = await appendToAggregate(opts.bus, subject, snap.version, events);
          let state = snap.state;
          for (const e of events) state = agg.evolve(state, e);
          const version = acks[acks.length - 1]?.seq ?? snap.version;
          loader.remember(subject, { state, version });
          if (waitProjection) {
            await opts.projections
              .get(waitProjection)
              ?.waitFor(version, 5000)
              .catch((err) => opts.logger.warn('read model lags behind a command', { projection: waitProjection, err }));
          }
          return { state, version, events };
        } catch (err) {
          if (!(err instanceof ConcurrencyConflictError)) throw err;
          if (attempt >= 8) throw new ConflictError(`${agg.kind} ${id} was changed concurrently; retry the request`, { cause: err });
          await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        }
      }
    },
  };
}
export type Aggregates = ReturnType<typeof createAggregates>;
