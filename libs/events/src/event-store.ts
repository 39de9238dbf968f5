import type { PlatformEvent } from '@pep/contracts';
import { DeliverPolicy, JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { decodeEvent, encodeEvent } from './codec.ts';
import type { EventBus } from './connection.ts';
import { ConcurrencyConflictError, PublishError } from './errors.ts';
import { tracedPublish } from './event-tracing.ts';
import { isTraceparent } from './trace.ts';

export interface PublishResult {
  id: string;
  seq: number;
  duplicate: boolean;
}

/** The NATS headers every published event carries: dedupe id, type, tenant and trace context. */
export function eventHeaders(event: PlatformEvent, dedupeKey: string, traceparent = event.traceparent) {
  const h = natsHeaders();
  h.set('Nats-Msg-Id', dedupeKey);
  h.set('ce-type', event.type);
  if (event.partnerid) h.set('ce-partnerid', event.partnerid);
  if (isTraceparent(traceparent)) h.set('traceparent', traceparent);
  if (event.tracestate) h.set('tracestate', event.tracestate);
  return h;
}

/**
 * Publishes one event with dedupe (`Nats-Msg-Id`). `dedupeKey` defaults to the event id; the gateway scopes
 * partner-supplied ids by tenant so two partners' ids never collide.
 */
export async function publishEvent(bus: EventBus, subject: string, event: PlatformEvent, dedupeKey = event.id): Promise<PublishResult> {
  let ack: PubAck;
  try {
    ack = await tracedPublish(subject, event, (tp) =>
      bus.js.publish(subject, encodeEvent(event), { msgID: dedupeKey, headers: eventHeaders(event, dedupeKey, tp) }),
    );
  } catch (err) {
    throw new PublishError(`publish of ${event.type} ${event.id} failed: ${(err as Error).message}`, { cause: err });
  }
  return { id: event.id, seq: ack.seq, duplicate: ack.duplicate };
}

/** Publishes many events concurrently (pipelined acks), preserving the input order in the result. */
export async function publishMany(
  bus: EventBus,
  items: { subject: string; event: PlatformEvent; dedupeKey?: string }[],
): Promise<PublishResult[]> {
  return Promise.all(items.map((i) => publishEvent(bus, i.subject, i.event, i.dedupeKey)));
}

/**
 * Appends events to one aggregate's subject with optimistic concurrency: the first carries the expected last
 * subject sequence (0 = the aggregate must not exist yet), each next one expects its predecessor.
 */
export async function appendToAggregate(
  bus: EventBus,
  subject: string,
  expectedSeq: number,
  events: PlatformEvent[],
): Promise<PublishResult[]> {
  const out: PublishResult[] = [];
  let expected = expectedSeq;
  for (const event of events) {
    try {
      const ack = await tracedPublish(subject, event, (tp) =>
        bus.js.publish(subject, encodeEvent(event), {
          msgID: event.id,
          headers: eventHeaders(event, event.id, tp),
          expect: { lastSubjectSequence: expected },
        }),
      );
      out.push({ id: event.id, seq: ack.seq, duplicate: ack.duplicate });
      expected = ack.seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164)) {
        throw new ConcurrencyConflictError(subject, expected, { cause: err });
      }
      throw new PublishError(`append of ${event.type} to ${subject} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

/** The stream sequence of the last message on a subject, 0 when there is none. */
export async function lastSubjectSeq(bus: EventBus, subject: string): Promise<number> {
  const m = await bus.jsm.streams.getMessage(bus.stream, { last_by_subj: subject });
  return m ? m.seq : 0;
}

export interface AggregateSnapshot<S> {
  state: S;
  /** Stream sequence of the last event folded in (0 for a new aggregate). */
  version: number;
}

/**
 * Loads an aggregate by folding its subject's events. A small cache keeps recent aggregates; it is checked
 * against the subject's last sequence (one direct get) so a stale entry is never used.
 */
export function createAggregateLoader<S>(
  bus: EventBus,
  initial: () => S,
  evolve: (state: S, event: PlatformEvent) => S,
  cacheSize = 10_000,
) {
  const cache = new Map<string, AggregateSnapshot<S>>();
  const remember = (subject: string, snap: AggregateSnapshot<S>) => {
    cache.delete(subject);
    cache.set(subject, snap);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
  };
  return {
    async load(subject: string): Promise<AggregateSnapshot<S>> {
      const last = await lastSubjectSeq(bus, subject);
      if (last === 0) return { state: initial(), version: 0 };
      const cached = cache.get(subject);
      if (cached && cached.version === last) return cached;
      let state = cached && cached.version < last ? cached.state : initial();
      const from = cached && cached.version < last ? cached.version + 1 : 1;
      const consumer = await bus.js.consumers.get(bus.stream, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: from,
      });
      let version = cached && cached.version < last ? cached.version : 0;
      try {
        while (version < last) {
          const batch = await consumer.fetch({ max_messages: 256, expires: 2000 });
          let got = 0;
          for await (const m of batch) {
            got++;
            state = evolve(state, decodeEvent(m));
            version = m.seq;
            if (m.seq >= last) break;
          }
          if (got === 0) break;
        }
      } finally {
        await consumer.delete().catch(() => undefined);
      }
      const snap = { state, version };
      remember(subject, snap);
      return snap;
    },
    /** Records the state after a successful append so the next command needs no replay. */
    remember,
  };
}
