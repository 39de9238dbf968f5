import { deliveryId } from './delivery-id.ts';
import type { IntakeEvent, NewDelivery } from './store.ts';

/** The envelope fields the dispatcher routes on. Bodies are delivered as published (no upcasting). */
export interface RawEnvelope {
  id: string;
  type: string;
  time: string;
  partnerid?: string;
  traceparent?: string;
  data?: unknown;
}

export class NotAnEnvelopeError extends Error {
  constructor(message = 'not an event envelope', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotAnEnvelopeError';
  }
}

function isEnvelope(v: unknown): v is RawEnvelope {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.type === 'string' && typeof r.time === 'string';
}

/** Parses a stream message's body as an event envelope, or throws `NotAnEnvelopeError`. */
export function parseEnvelope(body: string): RawEnvelope {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (err) {
    throw new NotAnEnvelopeError(err instanceof Error ? err.message : undefined, { cause: err });
  }
  if (!isEnvelope(v)) throw new NotAnEnvelopeError();
  return v;
}

/** One decoded stream message of an intake batch. */
export interface DecodedMessage<M> {
  msg: M;
  seq: number;
  storedAtMs: number;
  envelope: RawEnvelope;
  body: string;
}

/** What the planner needs to know of an endpoint. */
export interface PlannedEndpoint {
  row: { id: string; partner_id: string };
}

export interface PlannedDelivery<E> {
  endpoint: E;
  delivery: NewDelivery;
  /** Sent straight from the stream (held), or written down as a pending row. */
  send: boolean;
}

export interface PlannedMessage<M, E> {
  msg: M;
  event: IntakeEvent;
  deliveries: PlannedDelivery<E>[];
}

export interface BatchPlan<M, E> {
  /** Messages with at least one matching endpoint. */
  messages: PlannedMessage<M, E>[];
  /** Messages no endpoint wants: acked at once. */
  unmatched: M[];
}

export interface PlanContext<E> {
  /** The endpoints an event goes to (the endpoint cache's matching). */
  match: (envelope: RawEnvelope, storedAtMs: number) => E[];
  /** Deliveries the endpoint's lane can still take in memory (0 when its circuit is not closed). */
  room: (endpoint: E) => number;
  /** Whether `extra` more held deliveries of `extraBytes` more body fit beside what this process holds. */
  heldRoom: (extra: number, extraBytes: number) => boolean;
  attemptBudget: number;
  /** Shutting down: nothing is held, everything becomes a row. */
  stopped: boolean;
}

/**
 * Plans an intake batch (pure: matching against the endpoint cache, sending nothing; it may be done twice):
 * which deliveries each message makes, and which of them are sent straight from the stream (their lane has
 * room, its circuit is closed, the process holds less than its limits) or written down as pending rows.
 */
export function planBatch<M, E extends PlannedEndpoint>(decoded: readonly DecodedMessage<M>[], ctx: PlanContext<E>): BatchPlan<M, E> {
  const messages: PlannedMessage<M, E>[] = [];
  const unmatched: M[] = [];
  const planned = new Map<string, number>();
  let held = 0;
  let heldBytes = 0;
  for (const { msg, seq, storedAtMs, envelope: ev, body } of decoded) {
    const eps = ctx.match(ev, storedAtMs);
    if (eps.length === 0) {
      unmatched.push(msg);
      continue;
    }
    const event: IntakeEvent = {
      seq,
      id: ev.id,
      type: ev.type,
      partner_id: ev.partnerid ?? null,
      time: ev.time,
      traceparent: ev.traceparent ?? null,
      body,
    };
    const deliveries = eps.map((endpoint): PlannedDelivery<E> => {
      const delivery: NewDelivery = {
        id: deliveryId(endpoint.row.id, seq, '', storedAtMs),
        endpoint_id: endpoint.row.id,
        partner_id: endpoint.row.partner_id,
        event_seq: seq,
        event_id: ev.id,
        event_type: ev.type,
        event_time: ev.time,
        replay_job_id: '',
        attempt_budget: ctx.attemptBudget,
        lease_ms: null,
        lease_token: null,
      };
      const p = planned.get(endpoint.row.id) ?? 0;
      const send = !ctx.stopped && ctx.heldRoom(held, heldBytes + body.length) && ctx.room(endpoint) - p > 0;
      if (send) {
        planned.set(endpoint.row.id, p + 1);
        held++;
        heldBytes += body.length;
      }
      return { endpoint, delivery, send };
    });
    messages.push({ msg, event, deliveries });
  }
  return { messages, unmatched };
}

/**
 * The endpoint watermark check. A batch may be matched against the endpoint cache only when the cache covers
 * every endpoint event stored before the batch's messages: `watermark` is the highest stream sequence of any
 * endpoint event (+Infinity when it could not be read), `maxSeq` the batch's highest, `loadedSeq` what the
 * cache covers. "replan": wait for the read model, refresh the cache and plan again.
 */
export function watermarkCheck(watermark: number, maxSeq: number, loadedSeq: number): 'ok' | 'replan' {
  return Math.min(watermark, maxSeq) > loadedSeq ? 'replan' : 'ok';
}

/**
 * After the cache was refreshed: still behind the batch, so matching now could ack events as "no endpoint"
 * that have one (the batch is given back). When the watermark could not be read, the up-to-date read model
 * is the best there is.
 */
export function stillBehind(watermark: number, maxSeq: number, loadedSeq: number): boolean {
  return Number.isFinite(watermark) && Math.min(watermark, maxSeq) > loadedSeq;
}
