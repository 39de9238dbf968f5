import { latestVersion, type PlatformEvent } from '@pep/contracts';
import { ConflictError, type Logger, newId } from '@pep/runtime';
import type { EventBus } from './connection.ts';
import { ConcurrencyConflictError } from './errors.ts';
import { tracedCommand } from './event-tracing.ts';
import { type AggregateSnapshot, appendToAggregate, createAggregateLoader } from './event-store.ts';
import type { ProjectionRunner } from './projection.ts';
import { aggregateSubject } from './subjects.ts';

/** Builds an envelope stamped with the latest schema version of its type (what the deciders produce). */
export function newEvent(e: {
  type: string;
  data: unknown;
  source: string;
  time: string;
  id?: string;
  subject?: string;
  partnerid?: string | undefined;
  correlationid?: string | undefined;
  causationid?: string | undefined;
  traceparent?: string | undefined;
}): PlatformEvent {
  return {
    specversion: '1.0',
    id: e.id ?? newId('evt'),
    source: e.source,
    type: e.type,
    time: e.time,
    ...(e.subject ? { subject: e.subject } : {}),
    datacontenttype: 'application/json',
    schemaversion: latestVersion(e.type) ?? 1,
    data: e.data,
    ...(e.partnerid ? { partnerid: e.partnerid } : {}),
    ...(e.correlationid ? { correlationid: e.correlationid } : {}),
    ...(e.causationid ? { causationid: e.causationid } : {}),
    ...(e.traceparent ? { traceparent: e.traceparent } : {}),
  };
}

export interface AggregateKind<S> {
  /** The subject token: events live on `<prefix>.agg.<kind>.<id>`. */
  kind: string;
  initial: () => S;
  evolve: (state: S, event: PlatformEvent & { seq?: number }) => S;
  /** Read model to wait for before a command returns (read-your-writes), when the kind has one. */
  projection?: string;
}

/** Where a command came from: copied onto every event it causes. */
export interface CommandMeta {
  /** The tenant the events belong to (the `partnerid` extension). */
  partnerId?: string | undefined;
  correlationId?: string | undefined;
  causationId?: string | undefined;
  traceparent?: string | undefined;
}

interface ExecuteOptions {
  /** Read model to wait for; defaults to the kind's own. */
  waitProjection?: string | undefined;
  /** Skip the load on the first attempt and expect a new aggregate (the append fails if it exists). */
  assumeNew?: boolean;
}

export interface CommandResult<S> {
  state: S;
  /** Stream sequence of the aggregate's last event (unchanged when the command decided nothing). */
  version: number;
  events: PlatformEvent[];
}

/**
 * Runs commands against event-sourced aggregates: load (fold the aggregate's subject, cached), decide
 * (pure), append with the loaded version as the expected last subject sequence. When another writer got
 * there first the append fails and the command is decided again on fresh state, a few times, before a 409.
 * After a successful append it waits for the aggregate's read model to apply the new events, so a read right
 * after the reply sees them.
 */
export function createCommandBus(opts: {
  bus: EventBus;
  logger: Logger;
  projections: Map<string, ProjectionRunner>;
  /** CloudEvents `source` of every event this service appends. */
  source: string;
  maxAttempts?: number;
  now?: () => Date;
}) {
  const loaders = new Map<string, ReturnType<typeof createAggregateLoader<unknown>>>();
  const maxAttempts = opts.maxAttempts ?? 5;
  const now = opts.now ?? (() => new Date());

  function loaderFor<S>(agg: AggregateKind<S>) {
    let l = loaders.get(agg.kind);
    if (!l) {
      l = createAggregateLoader<unknown>(opts.bus, agg.initial, agg.evolve as (s: unknown, e: PlatformEvent) => unknown);
      loaders.set(agg.kind, l);
    }
    return l as unknown as ReturnType<typeof createAggregateLoader<S>>;
  }

  return {
    subject: (kind: string, id: string) => aggregateSubject(opts.bus.prefix, kind, id),

    load<S>(agg: AggregateKind<S>, id: string): Promise<AggregateSnapshot<S>> {
      return loaderFor(agg).load(aggregateSubject(opts.bus.prefix, agg.kind, id));
    },

    /** `decide` may name an event's own `partnerid` (an aggregate whose tenant is in its state); else the meta's. */
    execute<S, E extends { type: string; data: unknown; partnerid?: string | undefined }>(
      agg: AggregateKind<S>,
      id: string,
      meta: CommandMeta,
      decide: (state: S) => E[],
      options: ExecuteOptions = {},
    ): Promise<CommandResult<S>> {
      return tracedCommand(agg.kind, id, meta.traceparent, (traceparent) => execute(agg, id, { ...meta, traceparent }, decide, options));
    },
  };

  async function execute<S, E extends { type: string; data: unknown; partnerid?: string | undefined }>(
    agg: AggregateKind<S>,
    id: string,
    meta: CommandMeta,
    decide: (state: S) => E[],
    options: ExecuteOptions,
  ): Promise<CommandResult<S>> {
    const subject = aggregateSubject(opts.bus.prefix, agg.kind, id);
    const loader = loaderFor(agg);
    const waitProjection = options.waitProjection ?? agg.projection;
    for (let attempt = 1; ; attempt++) {
      const snap = options.assumeNew && attempt === 1 ? { state: agg.initial(), version: 0 } : await loader.load(subject);
      const decided = decide(snap.state);
      if (decided.length === 0) return { state: snap.state, version: snap.version, events: [] };
      const time = now().toISOString();
      const events = decided.map((d) =>
        newEvent({
          type: d.type,
          data: d.data,
          source: opts.source,
          time,
          subject: `${agg.kind}/${id}`,
          partnerid: d.partnerid ?? meta.partnerId,
          correlationid: meta.correlationId,
          causationid: meta.causationId,
          traceparent: meta.traceparent,
        }),
      );
      try {
        const acks = await appendToAggregate(opts.bus, subject, snap.version, events);
        let state = snap.state;
        events.forEach((e, i) => {
          state = agg.evolve(state, { ...e, seq: (acks[i] as { seq: number }).seq });
        });
        const version = acks[acks.length - 1]?.seq ?? snap.version;
        loader.remember(subject, { state, version });
        if (waitProjection) {
          await opts.projections
            .get(waitProjection)
            ?.waitFor(version, 5_000)
            .catch((err) => opts.logger.warn('read model lags behind a command', { projection: waitProjection, err }));
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
  }
}
export type CommandBus = ReturnType<typeof createCommandBus>;
