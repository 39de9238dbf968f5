import { randomUUID } from 'node:crypto';
import {
  aggregateFilter,
  aggregateSubject,
  allFilter,
  childTraceparent,
  type DeadLetterSink,
  type EventBus,
  type ProjectionRunner,
  publishEvent,
  resumeOnReconnect,
  trackDurable,
} from '@pep/events';
import type { Logger, Metrics } from '@pep/runtime';
import { createSafeDispatcher, type SsrfPolicy } from '@pep/webhooks';
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Kysely } from 'kysely';
import type { EndpointCommands } from '../app/endpoint-commands.ts';
import type { DispatcherDB } from '../db/schema.ts';
import type { MappingCache } from '../projections/integration-mappings/index.ts';
import { sendAttempt } from './attempt.ts';
import { traceIntake } from './intake-trace.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { CachedEndpoint, EndpointCache } from './endpoint-cache.ts';
import { TokenBucket } from './rate-limiter.ts';
import type { RateGate, SharedRateLimiter } from './shared-rate-limiter.ts';
import { maxAttempts, nextDelayMs, type RetryPolicy } from './retry-policy.ts';
import {
  type AttemptResult,
  type ClaimedDelivery,
  type CompletedDelivery,
  claimDue,
  completeAttempts,
  deliveryId,
  endpointsFailingSince,
  existingDeliveries,
  type IntakeEvent,
  insertDeliveries,
  type NewDelivery,
  pendingCount,
  recordHealth,
  recordSent,
  relayOutbox,
  releaseLeases,
  renewLease,
  type SentDelivery,
} from './store.ts';

export interface DispatcherOptions {
  db: Kysely<DispatcherDB>;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  cache: EndpointCache;
  commands: EndpointCommands;
  deadLetters: DeadLetterSink;
  endpointsProjection: () => ProjectionRunner | undefined;
  ssrf: SsrfPolicy;
  retry: RetryPolicy;
  consumer: { durable: string; ackWaitMs: number; deliverPolicy: 'all' | 'new' };
  endpointConcurrency: number;
  maxInFlight: number;
  pollMs: number;
  maintenanceMs: number;
  leaseExtraMs: number;
  disableAfterMs: number;
  breaker: { windowMs: number; minRequests: number; failureRatio: number; openMs: number };
  /** Per-endpoint rate limits shared by all replicas (Redis); without it each process limits on its own. */
  sharedRate?: SharedRateLimiter | undefined;
  /** Integrations' compiled field mappings (endpoints that name an integration get mapped bodies). */
  mappings?: MappingCache | undefined;
}

/** One stream message whose deliveries this process holds; acked once every one of them is recorded. */
interface HeldMessage {
  m: JsMsg;
  /** Deliveries (and the insert of its overflow rows) not yet recorded. */
  refs: number;
  /** Something could not be recorded: the message is given back (nak) instead of acked. */
  failed: boolean;
  settled: boolean;
}

/**
 * A delivery in a lane: either claimed from Postgres (its row is leased to this process), or held straight
 * from the stream with no row yet (its message stays unacked until the attempt is recorded).
 */
type Work =
  | (ClaimedDelivery & { kind: 'claimed' })
  | {
      kind: 'held';
      id: string;
      endpoint_id: string;
      event_type: string;
      attempts: 0;
      body: string;
      traceparent: string | null;
      stored_at_ms: number;
      delivery: NewDelivery;
      event: IntakeEvent;
      msg: HeldMessage;
      heldSince: number;
    };
type HeldWork = Extract<Work, { kind: 'held' }>;

/** Deliveries held or claimed by this process for one endpoint, with that endpoint's limits. */
interface Lane {
  endpointId: string;
  queue: Work[];
  inFlight: number;
  breaker: CircuitBreaker;
  bucket: RateGate | null;
  timer: NodeJS.Timeout | null;
  /** Due deliveries of this endpoint may be waiting in Postgres (unleased at intake, or a full claim). */
  backlog: boolean;
}

/** Intake batches in flight at once, and the most messages in one. */
const INTAKE_PARALLEL = 3;
const INTAKE_BATCH = 500;
const WRITER_GATHER_MS = 20;
/** Deliveries held straight from the stream in one process (each keeps its message unacked), and their bodies' size. */
const MAX_HELD = 10_000;
const MAX_HELD_BYTES = 64 * 1024 * 1024;
const W3C = new W3CTraceContextPropagator();
const tracer = trace.getTracer('webhook-dispatcher');

/** The envelope fields the dispatcher routes on. Bodies are delivered as published (no upcasting). */
interface RawEnvelope {
  id: string;
  type: string;
  time: string;
  partnerid?: string;
  traceparent?: string;
  data?: unknown;
}

function parseEnvelope(body: string): RawEnvelope {
  const v = JSON.parse(body) as RawEnvelope;
  if (!v || typeof v !== 'object' || typeof v.id !== 'string' || typeof v.type !== 'string' || typeof v.time !== 'string') {
    throw new Error('not an event envelope');
  }
  return v;
}

export interface RunningDispatcher {
  stop(): Promise<void>;
  /** Polls for due deliveries now (after a resend, recover or replay). */
  nudge(): void;
}

/**
 * The delivery engine of one dispatcher process.
 *  - Intake: a durable pull consumer shared by every replica reads all platform events. A delivery whose
 *    endpoint lane has room is sent straight from the stream: no row is written first. Its attempt is
 *    recorded afterwards (event, delivery in its new state and attempt log in one statement), and only then
 *    is the message acked, so a crash before the record means JetStream delivers the message again. A
 *    redelivered message, and whatever a lane has no room for, becomes a pending row instead (unique per
 *    endpoint and event, so a second replica or a second delivery of the message never makes a second one).
 *    Delivery ids are derived from (endpoint, event), so a repeat after a crash carries the same webhook-id.
 *  - Lanes: one per endpoint, each with its own concurrency, token-bucket rate limit and circuit breaker, so
 *    a slow or failing endpoint only ever holds its own slots; what waits in a lane while its circuit opens
 *    (or too long for the ack deadline) is written down as pending rows and acked.
 *  - Poller: claims due rows (retries, overflow, replays, leases of a crashed replica) per endpoint with
 *    `FOR UPDATE SKIP LOCKED`, at most what each lane has room for.
 *  - Writer: records attempts in batches; every transition of a claimed row is guarded by its lease token.
 *  - Outbox: `webhook.delivery.exhausted` rows are written with the transition to failed and relayed.
 */
export async function startDispatcher(o: DispatcherOptions): Promise<RunningDispatcher> {
  const { db, bus, logger, metrics, cache } = o;
  const agent = createSafeDispatcher(o.ssrf, { keepAliveTimeout: 30_000, connectTimeoutMs: 10_000 });
  const lanes = new Map<string, Lane>();
  let inFlight = 0;
  /** Held deliveries (sent or waiting) not yet recorded, and the size of their bodies. */
  let held = 0;
  let heldBytes = 0;
  const unhold = (items: { work: HeldWork }[] | HeldWork[]) => {
    for (const x of items) heldBytes -= ('work' in x ? x.work : x).body.length;
    held -= items.length;
  };
  let stopped = false;
  const budget = maxAttempts(o.retry);

  const mDeliveries = metrics.counter('webhook_deliveries_total', 'Webhook attempts by outcome', ['outcome']);
  const mLatency = metrics.histogram(
    'webhook_attempt_duration_seconds',
    'Latency of webhook attempts',
    ['outcome'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15],
  );
  const mCircuit = metrics.gauge(
    'webhook_circuit_state',
    'Circuit state per endpoint (0 closed, 1 half-open, 2 open)',
    ['endpoint_id'],
    () => {
      for (const l of lanes.values())
        mCircuit.set({ endpoint_id: l.endpointId }, l.breaker.state === 'closed' ? 0 : l.breaker.state === 'half_open' ? 1 : 2);
    },
  );
  const mPending = metrics.gauge('webhook_pending_deliveries', 'Deliveries waiting for an attempt (all replicas)', [], async () => {
    mPending.set(await pendingCount(db).catch(() => -1));
  });
  const mHeld = metrics.gauge(
    'webhook_held_deliveries',
    'Deliveries this process took straight from the stream and has not recorded yet (their messages are unacked)',
    [],
    () => {
      mHeld.set(held);
    },
  );
  const mLag = metrics.gauge('webhook_consumer_lag', 'Events in the stream the dispatcher consumer has not read yet', [], async () => {
    const info = await bus.jsm.consumers.info(bus.stream, o.consumer.durable).catch(() => undefined);
    mLag.set(info ? info.num_pending + info.num_ack_pending : -1);
  });
  const mDispatchDelay = metrics.histogram(
    'webhook_dispatch_delay_seconds',
    'From an event stored in the stream to the start of its first attempt (deliveries sent straight from the stream)',
    [],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  const mIntake = metrics.histogram(
    'webhook_intake_stage_seconds',
    'Intake, per batch (its oldest event): stored in the stream → received by this process (stage=consumer), → batch started (stage=queued), → handed to the lanes (stage=handoff)',
    ['stage'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  const mInFlight = metrics.gauge('webhook_attempts_in_flight', 'Attempts in flight in this process', [], () => {
    mInFlight.set(inFlight);
  });

  const leaseMsFor = (ep: CachedEndpoint) => ep.row.timeout_ms + o.leaseExtraMs;

  const laneFor = (ep: CachedEndpoint): Lane => {
    let lane = lanes.get(ep.row.id);
    if (!lane) {
      lane = {
        endpointId: ep.row.id,
        queue: [],
        inFlight: 0,
        breaker: new CircuitBreaker(o.breaker),
        bucket: null,
        timer: null,
        backlog: false,
      };
      lanes.set(ep.row.id, lane);
    }
    const rate = ep.row.rate_limit_per_s;
    if (rate && !lane.bucket) {
      const l = lane;
      lane.bucket = o.sharedRate ? o.sharedRate.gate(ep.row.id, rate, () => pump(l)) : new TokenBucket(rate, Date.now());
    } else if (rate && lane.bucket) lane.bucket.setRate(rate);
    else if (!rate) lane.bucket = null;
    return lane;
  };

  // Deliveries one lane holds in this process (queued + in flight): enough that a busy endpoint is fed
  // straight from the stream rather than from Postgres, few enough to be sent well within the ack deadline.
  const laneCap = Math.min(5000, Math.max(256, o.endpointConcurrency * 64));
  const room = (lane: Lane) => laneCap - lane.queue.length - lane.inFlight;

  // ---------------------------------------------------------------- held messages
  /** One of a held message's deliveries is recorded (or could not be): ack it when the last one is. */
  const settle = (h: HeldMessage, ok: boolean) => {
    if (!ok) h.failed = true;
    if (--h.refs > 0 || h.settled) return;
    h.settled = true;
    // A message given back is delivered again; it then takes the path through rows, which never sends a
    // delivery whose row already records an attempt.
    if (h.failed) h.m.nak(1000);
    else h.m.ack();
  };

  const distinctEvents = (items: HeldWork[]) => {
    const bySeq = new Map<number, IntakeEvent>();
    for (const w of items) bySeq.set(w.event.seq, w.event);
    return [...bySeq.values()];
  };

  /** Held deliveries that will not be sent from memory (circuit open, waited too long, shutdown): written down as pending rows. */
  const demote = async (items: HeldWork[]): Promise<void> => {
    if (items.length === 0) return;
    for (const w of items) {
      const lane = lanes.get(w.endpoint_id);
      if (lane) lane.backlog = true;
    }
    const ok = await insertDeliveries(
      db,
      distinctEvents(items),
      items.map((w) => w.delivery),
    ).then(
      () => true,
      (err) => {
        logger.warn('writing held deliveries down failed; their messages are given back to the stream', { err });
        return false;
      },
    );
    unhold(items);
    for (const w of items) settle(w.msg, ok);
  };

  // ---------------------------------------------------------------- writer (batched attempt records)
  const results: AttemptResult[] = [];
  const sent: (SentDelivery & { work: HeldWork })[] = [];
  const reportedHealth = new Map<string, { ok: boolean; at: number }>();
  let writing: Promise<void> | null = null;

  const withRetry = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      logger.warn(`${what} failed, retrying`, { err });
      await new Promise((r) => setTimeout(r, 500));
      try {
        return await fn();
      } catch (e) {
        logger.error(`${what} failed`, { err: e });
        return undefined;
      }
    }
  };

  const flushResults = async () => {
    while (results.length || sent.length) {
      const batch = results.splice(0, 500);
      const sentBatch = sent.splice(0, 500);
      const [claimedDone, sentDone] = await Promise.all([
        // A claimed row that cannot be recorded keeps its lease until it expires; then it is retried.
        batch.length ? withRetry('recording attempts', () => completeAttempts(db, batch)).then((x) => x ?? []) : [],
        sentBatch.length
          ? withRetry('recording sent deliveries', () => recordSent(db, distinctEvents(sentBatch.map((x) => x.work)), sentBatch)).then(
              (x) => {
                unhold(sentBatch);
                for (const s of sentBatch) settle(s.work.msg, x !== undefined);
                return x ?? [];
              },
            )
          : [],
      ]);
      const done: CompletedDelivery[] = [...claimedDone, ...sentDone];
      const health = new Map<string, boolean>();
      for (const r of [...batch, ...sentBatch.map((x) => x.result)])
        health.set(r.endpoint_id, (health.get(r.endpoint_id) ?? false) || r.outcome === 'succeeded');
      // Health rows change only when an endpoint flips between failing and succeeding (or every 5 s), so a
      // busy endpoint does not cost a write per batch.
      const now = Date.now();
      for (const [id, okNow] of health) {
        const last = reportedHealth.get(id);
        if (last && last.ok === okNow && now - last.at < 5000) health.delete(id);
        else reportedHealth.set(id, { ok: okNow, at: now });
      }
      await recordHealth(db, health).catch((err) => logger.warn('recording endpoint health failed', { err }));
      let exhausted = false;
      for (const d of done) {
        mDeliveries.inc({ outcome: d.status === 'pending' ? 'retrying' : d.status });
        if (d.status === 'failed') exhausted = true;
      }
      if (exhausted) void relay();
    }
  };
  const ensureWriter = () => {
    if (writing) return;
    // Attempt records are not on the delivery path: gather them for a few ms so they cost a few commits a
    // second, not one per event-loop turn.
    writing = new Promise<void>((resolve) => setTimeout(resolve, WRITER_GATHER_MS)).then(flushResults).finally(() => {
      writing = null;
      if (results.length || sent.length) ensureWriter();
    });
  };

  // ---------------------------------------------------------------- outbox relay
  let relaying: Promise<void> | null = null;
  const relay = (): Promise<void> => {
    if (relaying) return relaying;
    relaying = (async () => {
      for (;;) {
        const r = await relayOutbox(db, publishExhausted);
        if (r.failed) logger.warn('exhausted events not published yet; the outbox keeps them', { failed: r.failed });
        if (r.published < 100 || r.failed) break;
      }
    })()
      .catch((err) => logger.warn('outbox relay failed; it runs again', { err }))
      .finally(() => {
        relaying = null;
      });
    return relaying;
  };

  const publishExhausted = async (d: CompletedDelivery) => {
    const now = new Date();
    await publishEvent(bus, aggregateSubject(bus.prefix, 'webhook_delivery', d.id), {
      specversion: '1.0',
      id: `exh_${d.id}_${d.attempts}`,
      source: 'webhook-dispatcher',
      type: 'webhook.delivery.exhausted',
      time: now.toISOString(),
      subject: d.id,
      datacontenttype: 'application/json',
      schemaversion: 1,
      partnerid: d.partner_id,
      data: {
        delivery_id: d.id,
        endpoint_id: d.endpoint_id,
        event_id: d.event_id,
        event_type: d.event_type,
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        last_error: d.last_error,
      },
    });
  };

  /** The integration error of a mapping that failed on an event for one endpoint (id: once per attempt). */
  const publishMappingFailed = async (
    w: Work,
    partnerId: string,
    mapping: { integrationId: string; eventType: string; version: number },
    f: { class: 'timeout' | 'depth' | 'size' | 'empty' | 'runtime'; code: string; message: string; position: number | null },
    at: Date,
  ) => {
    const eventId = w.kind === 'held' ? w.delivery.event_id : w.event_id;
    await publishEvent(bus, aggregateSubject(bus.prefix, 'webhook_delivery', w.id), {
      specversion: '1.0',
      id: `mapf_${w.id}_${w.attempts + 1}`,
      source: 'webhook-dispatcher',
      type: 'integration.mapping_failed',
      time: at.toISOString(),
      subject: w.id,
      datacontenttype: 'application/json',
      schemaversion: 1,
      partnerid: partnerId,
      data: {
        integration_id: mapping.integrationId,
        endpoint_id: w.endpoint_id,
        delivery_id: w.id,
        event_id: eventId,
        event_type: w.event_type,
        mapping_event_type: mapping.eventType,
        mapping_version: mapping.version,
        error_class: f.class,
        error_code: f.code.slice(0, 16),
        error_message: f.message.slice(0, 500),
        position: f.position,
        failed_at: at.toISOString(),
      },
    });
  };

  // ---------------------------------------------------------------- lanes
  /** Gives back what a lane has not started: claimed rows lose their lease, held deliveries become rows. */
  const releaseQueue = (lane: Lane) => {
    if (lane.queue.length === 0) return;
    const items = lane.queue.splice(0);
    const claimed = items.filter((w) => w.kind === 'claimed').map((w) => ({ id: w.id, token: w.lease_token }));
    if (claimed.length) releaseLeases(db, claimed).catch((err) => logger.warn('releasing leases failed (they expire anyway)', { err }));
    void demote(items.filter((w): w is HeldWork => w.kind === 'held'));
  };

  const disabling = new Set<string>();
  const disableEndpoint = (endpointId: string, reason: 'gone' | 'failing', detail: string) => {
    if (disabling.has(endpointId)) return;
    disabling.add(endpointId);
    o.commands
      .execute(endpointId, { kind: 'DisableEndpoint', reason, detail }, { now: new Date() })
      .then(() => logger.warn('endpoint disabled', { endpoint_id: endpointId, reason }))
      .catch((err) => logger.warn('disabling endpoint failed', { endpoint_id: endpointId, err }))
      .finally(() => {
        disabling.delete(endpointId);
        void cache.refresh();
      });
  };

  const pump = (lane: Lane) => {
    while (lane.queue.length && lane.inFlight < o.endpointConcurrency && inFlight < o.maxInFlight && !stopped) {
      const now = Date.now();
      if (!lane.breaker.allow(now)) {
        releaseQueue(lane);
        return;
      }
      if (lane.bucket && !lane.bucket.take(now)) {
        if (!lane.timer) {
          lane.timer = setTimeout(() => {
            lane.timer = null;
            pump(lane);
          }, lane.bucket.waitMs(now));
        }
        return;
      }
      const w = lane.queue.shift() as Work;
      lane.inFlight++;
      inFlight++;
      lane.breaker.onStart();
      void attempt(lane, w)
        .catch((err) => logger.error('attempt crashed', { err, delivery_id: w.id }))
        .finally(() => {
          lane.inFlight--;
          inFlight--;
          pump(lane);
          // Refill from Postgres before the lane runs dry, not at the next poll tick.
          if (lane.backlog && lane.queue.length < laneCap / 2 && lane.breaker.state === 'closed') {
            lane.backlog = false;
            nudge();
          }
          if (inFlight === o.maxInFlight - 1) for (const l of lanes.values()) pump(l);
        });
    }
  };

  const attempt = async (lane: Lane, w: Work) => {
    const ep = cache.get(w.endpoint_id);
    if (!ep?.row.enabled) {
      // Disabled or deleted since: nothing is sent; the delivery waits as a pending row.
      if (w.kind === 'held') await demote([w]);
      else await releaseLeases(db, [{ id: w.id, token: w.lease_token }]);
      return;
    }
    if (w.kind === 'claimed') {
      if (w.lease_until - Date.now() < ep.row.timeout_ms + 500) {
        const renewed = await renewLease(db, w.id, w.lease_token, leaseMsFor(ep));
        if (renewed === null) return; // another process owns it now
        w.lease_until = renewed;
      }
    } else if (Date.now() - w.heldSince + ep.row.timeout_ms + 5000 > o.consumer.ackWaitMs) {
      w.msg.m.working(); // too close to the ack deadline: restart it, so the attempt and its record fit
    }
    const parent = w.traceparent
      ? W3C.extract(context.active(), { traceparent: w.traceparent }, { get: (c, k) => c[k as 'traceparent'], keys: (c) => Object.keys(c) })
      : context.active();
    const span = tracer.startSpan(
      'webhook.attempt',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'webhook.delivery_id': w.id,
          'webhook.endpoint_id': w.endpoint_id,
          'webhook.event_type': w.event_type,
          'webhook.attempt': w.attempts + 1,
          'http.request.method': 'POST',
        },
      },
      parent,
    );
    const sc = span.spanContext();
    const traceparent = isSpanContextValid(sc)
      ? `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`
      : childTraceparent(w.traceparent);
    const now = new Date();
    if (w.kind === 'held') mDispatchDelay.observe(Math.max(0, now.getTime() - w.stored_at_ms) / 1000);
    const mapping = ep.row.integration_id ? o.mappings?.get(ep.row.integration_id, w.event_type) : undefined;
    const out = await sendAttempt(agent, {
      ...(mapping ? { mapping: { version: mapping.version, compiled: mapping.compiled } } : {}),
      deliveryId: w.id,
      url: ep.row.url,
      body: w.body,
      format: ep.row.payload_format,
      secrets: cache.secretsFor(ep, now.getTime()),
      headers: ep.row.headers,
      timeoutMs: ep.row.timeout_ms,
      traceparent,
      now,
    });
    span.setAttribute('http.response.status_code', out.statusCode ?? 0);
    if (!out.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: out.error ?? 'failed' });
    span.end();
    if (out.mappingFailure && mapping) {
      // An integration error: nothing was sent, the endpoint is not at fault (no breaker outcome, no latency).
      lane.breaker.release();
      void publishMappingFailed(w, ep.row.partner_id, mapping, out.mappingFailure, now).catch((err) =>
        logger.warn('publishing integration.mapping_failed failed', { err, delivery_id: w.id }),
      );
    } else {
      mLatency.observe({ outcome: out.ok ? 'succeeded' : 'failed' }, out.latencyMs / 1000);
    }
    const wasOpen = lane.breaker.state === 'open';
    if (!out.mappingFailure) lane.breaker.record(out.ok, Date.now());
    if (!wasOpen && lane.breaker.state === 'open') {
      logger.warn('circuit opened', { endpoint_id: lane.endpointId });
      releaseQueue(lane);
    }
    const gone = out.statusCode === 410;
    if (gone) {
      disableEndpoint(ep.row.id, 'gone', 'the endpoint answered 410 Gone');
      releaseQueue(lane);
    }
    const result: AttemptResult = {
      id: w.id,
      token: w.kind === 'claimed' ? w.lease_token : '',
      endpoint_id: w.endpoint_id,
      outcome: out.ok ? 'succeeded' : 'failed',
      final: gone || out.mappingFailure !== undefined,
      retry_delay_ms: out.ok ? 0 : nextDelayMs(o.retry, w.attempts + 1, Math.random(), out.retryAfterMs),
      status_code: out.statusCode,
      error: out.error,
      error_class: out.errorClass,
      started_at: now,
      latency_ms: Math.round(out.latencyMs * 100) / 100,
      excerpt: out.excerpt,
      mapping_version: out.mappingVersion,
    };
    if (w.kind === 'claimed') results.push(result);
    else sent.push({ delivery: w.delivery, result, work: w });
    ensureWriter();
  };

  const enqueue = (items: ClaimedDelivery[]) => {
    const touched = new Set<Lane>();
    for (const w of items) {
      const ep = cache.get(w.endpoint_id);
      if (!ep) continue;
      const lane = laneFor(ep);
      lane.queue.push({ ...w, kind: 'claimed' });
      touched.add(lane);
    }
    for (const l of touched) pump(l);
  };

  // ---------------------------------------------------------------- intake
  const dec = new TextDecoder();
  const durable = o.consumer.durable;
  const cfg = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: allFilter(bus.prefix),
    deliver_policy: o.consumer.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ack_wait: nanos(o.consumer.ackWaitMs),
    // Each replica holds up to MAX_HELD unacked messages while their first attempts run; room for several replicas.
    max_ack_pending: 50_000,
  };
  try {
    await bus.jsm.consumers.info(bus.stream, durable);
    await bus.jsm.consumers.update(bus.stream, durable, { ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending });
  } catch {
    try {
      await bus.jsm.consumers.add(bus.stream, cfg);
    } catch (err) {
      if (!/already (in use|exists)/i.test(String((err as Error).message))) throw err;
    }
  }
  const consumer = await bus.js.consumers.get(bus.stream, durable);
  trackDurable(bus, durable);

  // Highest stream sequence of any webhook_endpoint event. A batch may be matched against the endpoint cache
  // only when the cache covers every endpoint event stored before the batch's messages; one JetStream direct
  // get per batch checks it (a NATS round trip, no Postgres), and when the cache is behind (an endpoint
  // changed just now: rare) the batch waits for the read model before anything is matched or sent.
  const endpointFilter = aggregateFilter(bus.prefix, 'webhook_endpoint');
  const endpointWatermark = async (): Promise<number> => {
    const m = await bus.jsm.streams.getMessage(bus.stream, { last_by_subj: endpointFilter });
    return m ? m.seq : 0;
  };

  const decode = async (msgs: JsMsg[]) => {
    const decoded: { m: JsMsg; ev: RawEnvelope; body: string }[] = [];
    for (const m of msgs) {
      const body = dec.decode(m.data);
      try {
        decoded.push({ m, ev: traceIntake(durable, m, parseEnvelope(body)), body });
      } catch (err) {
        logger.warn('undecodable event dead-lettered', { seq: m.seq, subject: m.subject, err });
        await o.deadLetters
          .record({
            consumer: durable,
            stream_seq: m.seq,
            subject: m.subject,
            event_id: null,
            event_type: null,
            payload: body,
            error: String((err as Error).message),
            attempts: m.info.deliveryCount,
          })
          .catch(() => undefined);
        m.term();
      }
    }
    return decoded;
  };

  const processBatch = async (msgs: JsMsg[], arrivedAt: number) => {
    const startedAt = Date.now();
    const oldest = Math.min(...msgs.map((m) => m.info.timestampNanos / 1e6));
    mIntake.observe({ stage: 'consumer' }, Math.max(0, arrivedAt - oldest) / 1000);
    mIntake.observe({ stage: 'queued' }, Math.max(0, startedAt - arrivedAt) / 1000);
    const decoded = await decode(msgs);
    if (decoded.length === 0) return;
    const maxSeq = Math.max(...decoded.map((d) => d.m.seq));
    // Planning is matching against the endpoint cache, sending nothing; it may be done twice.
    const plan = (now: number) => {
      const rows: { lane: Lane; delivery: NewDelivery; event: IntakeEvent; hm: HeldMessage }[] = [];
      const candidates: { lane: Lane; work: HeldWork }[] = [];
      const unmatched: JsMsg[] = [];
      const planned = new Map<Lane, number>();
      let plannedBytes = 0;
      for (const { m, ev, body } of decoded) {
        const storedAt = m.info.timestampNanos / 1e6;
        const eps = cache.matching(ev.partnerid, ev.type, ev.data, storedAt);
        if (eps.length === 0) {
          unmatched.push(m);
          continue;
        }
        const event: IntakeEvent = {
          seq: m.seq,
          id: ev.id,
          type: ev.type,
          partner_id: ev.partnerid ?? null,
          time: ev.time,
          traceparent: ev.traceparent ?? null,
          body,
        };
        const hm: HeldMessage = { m, refs: eps.length, failed: false, settled: false };
        for (const ep of eps) {
          const lane = laneFor(ep);
          const delivery: NewDelivery = {
            id: deliveryId(ep.row.id, m.seq, '', storedAt),
            endpoint_id: ep.row.id,
            partner_id: ep.row.partner_id,
            event_seq: m.seq,
            event_id: ev.id,
            event_type: ev.type,
            event_time: ev.time,
            replay_job_id: '',
            attempt_budget: budget,
            lease_ms: null,
            lease_token: null,
          };
          const p = planned.get(lane) ?? 0;
          if (
            !stopped &&
            held + candidates.length < MAX_HELD &&
            heldBytes + plannedBytes + body.length <= MAX_HELD_BYTES &&
            lane.breaker.state === 'closed' &&
            room(lane) - p > 0
          ) {
            planned.set(lane, p + 1);
            plannedBytes += body.length;
            candidates.push({
              lane,
              work: {
                kind: 'held',
                id: delivery.id,
                endpoint_id: ep.row.id,
                event_type: ev.type,
                attempts: 0,
                body,
                traceparent: event.traceparent,
                stored_at_ms: storedAt,
                delivery,
                event,
                msg: hm,
                heldSince: now,
              },
            });
          } else rows.push({ lane, delivery, event, hm });
        }
      }
      return { rows, candidates, unmatched };
    };
    // A message can come back after its deliveries were written down: JetStream redelivers one whose ack was
    // lost, and around a consumer's restart nats-server 2.9 was seen to hand an acked message out again as
    // new. So only deliveries that have no row yet are sent from memory: one primary-key read (no commit),
    // made side by side with the endpoint watermark check.
    const existingOf = (candidates: { work: HeldWork }[]) =>
      candidates.length === 0
        ? Promise.resolve(new Set<string>())
        : existingDeliveries(
            db,
            candidates.map((c) => c.work.id),
          ).catch((err) => {
            logger.warn('could not check for existing deliveries; the batch takes the row path', { err });
            return null;
          });
    const watermark = endpointWatermark().catch((err) => {
      logger.warn('endpoint watermark unavailable; matching the batch against the up-to-date read model', { err });
      return Number.POSITIVE_INFINITY;
    });
    // What the cache covered when the batch was matched (it may be reloaded while the checks run).
    const plannedWith = cache.loadedSeq;
    let planned = plan(Date.now());
    let existingP = existingOf(planned.candidates);
    const wm = await watermark;
    const needed = Math.min(wm, maxSeq);
    if (needed > plannedWith) {
      // The cache was behind an endpoint change (rare): wait for the read model and plan again.
      await existingP;
      await o
        .endpointsProjection()
        ?.waitFor(maxSeq, 10_000)
        .catch((err) => logger.warn('endpoints projection behind', { err }));
      await cache.refresh();
      // (When the watermark could not be read, the up-to-date read model is the best there is.)
      if (Number.isFinite(wm) && needed > cache.loadedSeq) {
        // Still behind: matching now could ack events as "no endpoint" that have one. Give them back.
        logger.warn('endpoint read model still behind the batch; its messages are delivered again', {
          needed,
          loaded: cache.loadedSeq,
        });
        for (const { m } of decoded) m.nak(1000);
        return;
      }
      planned = plan(Date.now());
      existingP = existingOf(planned.candidates);
    }
    const existing = await existingP;
    for (const m of planned.unmatched) m.ack();
    const rows: NewDelivery[] = [];
    const rowEvents = new Map<number, IntakeEvent>();
    /** One entry per row delivery: the message it belongs to (settled once per delivery). */
    const rowRefs: HeldMessage[] = [];
    const asRow = (lane: Lane, d: NewDelivery, e: IntakeEvent, hm: HeldMessage) => {
      rows.push(d);
      rowEvents.set(e.seq, e);
      rowRefs.push(hm);
      lane.backlog = true;
    };
    for (const r of planned.rows) asRow(r.lane, r.delivery, r.event, r.hm);
    if (planned.candidates.length) {
      const touched = new Set<Lane>();
      for (const { lane, work } of planned.candidates) {
        if (existing?.has(work.id)) settle(work.msg, true);
        else if (existing === null || stopped) asRow(lane, work.delivery, work.event, work.msg);
        else {
          held++;
          heldBytes += work.body.length;
          lane.queue.push(work);
          touched.add(lane);
        }
      }
      mIntake.observe({ stage: 'handoff' }, (Date.now() - startedAt) / 1000);
      for (const l of touched) pump(l);
    }
    if (rows.length) {
      const ok = await insertDeliveries(db, [...rowEvents.values()], rows).then(
        () => true,
        (err) => {
          logger.warn('intake rows not written; their messages will be delivered again', { err });
          return false;
        },
      );
      for (const hm of rowRefs) settle(hm, ok);
      nudge();
    }
  };

  // Batches are cut per event-loop turn (what one socket read brought) and up to INTAKE_PARALLEL of them are
  // in flight at once, so a batch never waits behind another one's round trips.
  const pendingMsgs: JsMsg[] = [];
  /** When the oldest message in pendingMsgs arrived. */
  let pendingSince = 0;
  const runningBatches = new Set<Promise<void>>();
  let flushQueued = false;
  const scheduleFlush = () => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      while (pendingMsgs.length && runningBatches.size < INTAKE_PARALLEL) {
        const b = pendingMsgs.splice(0, INTAKE_BATCH);
        const arrivedAt = pendingSince;
        pendingSince = Date.now();
        const run: Promise<void> = processBatch(b, arrivedAt)
          .catch((err) => {
            logger.error('intake batch crashed', { err });
            for (const m of b) m.nak(1000);
          })
          .finally(() => {
            runningBatches.delete(run);
            if (pendingMsgs.length) scheduleFlush();
          });
        runningBatches.add(run);
      }
    });
  };

  let messages: ConsumerMessages | undefined;
  // After a broker restart, consume afresh as soon as the durable answers (nats.js alone may wait 30 s).
  const stopResume = resumeOnReconnect({ bus, durable, messages: () => messages, logger });
  const intakeLoop = (async () => {
    while (!stopped) {
      try {
        // consume() keeps pull requests outstanding (it re-pulls at 75 % of max_messages): the server pushes
        // each new event as soon as it is stored, there is no polling interval on this path.
        messages = await consumer.consume({ max_messages: 1000 });
        for await (const m of messages) {
          if (pendingMsgs.length === 0) pendingSince = Date.now();
          pendingMsgs.push(m);
          scheduleFlush();
          while (pendingMsgs.length > 4000 && !stopped) await new Promise((r) => setTimeout(r, 5));
          // No break on stop: stop() ends this iterator after the messages it has already received, which
          // are written down as pending rows; abandoned, they would wait out the ack deadline.
        }
      } catch (err) {
        if (stopped) break;
        logger.warn('intake consume loop failed, restarting', { err });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  // ---------------------------------------------------------------- poller
  let pollTimer: NodeJS.Timeout | null = null;
  let polling = false;
  let pollAgain = false;
  const poll = async () => {
    if (stopped) return;
    if (polling) {
      pollAgain = true; // a nudge during a poll is not lost
      return;
    }
    polling = true;
    pollAgain = false;
    let again = false;
    try {
      await cache.refresh();
      const now = Date.now();
      const wants: { endpoint_id: string; cap: number; lease_ms: number }[] = [];
      for (const ep of cache.enabled()) {
        const lane = laneFor(ep);
        let cap = Math.min(room(lane), 500);
        if (cap <= 0) continue;
        if (!lane.breaker.allow(now)) continue;
        if (lane.breaker.state === 'half_open') cap = lane.inFlight === 0 && lane.queue.length === 0 ? 1 : 0;
        if (cap > 0) wants.push({ endpoint_id: ep.row.id, cap, lease_ms: leaseMsFor(ep) });
      }
      const claimed = await claimDue(db, wants, randomUUID());
      const perEndpoint = new Map<string, number>();
      for (const c of claimed) perEndpoint.set(c.endpoint_id, (perEndpoint.get(c.endpoint_id) ?? 0) + 1);
      for (const w of wants) {
        const lane = lanes.get(w.endpoint_id);
        if (lane) lane.backlog = (perEndpoint.get(w.endpoint_id) ?? 0) >= w.cap;
      }
      again = pollAgain || wants.some((w) => (perEndpoint.get(w.endpoint_id) ?? 0) >= w.cap && w.cap > 1);
      enqueue(claimed);
    } catch (err) {
      logger.warn('poll failed', { err });
    } finally {
      polling = false;
    }
    schedulePoll(pollAgain ? 0 : again ? 20 : o.pollMs);
  };
  const schedulePoll = (ms: number) => {
    if (stopped) return;
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = setTimeout(() => void poll(), ms);
  };
  const nudge = () => schedulePoll(0);
  schedulePoll(0);

  // ---------------------------------------------------------------- sweeps and maintenance
  // A held delivery must start well before its message's ack deadline; one that waits longer in a slow
  // lane is written down as a pending row (and its message acked) instead.
  const sweep = setInterval(() => {
    const tooOld = Date.now() - o.consumer.ackWaitMs / 3;
    for (const lane of lanes.values()) {
      if (!lane.queue.some((w) => w.kind === 'held' && w.heldSince < tooOld)) continue;
      const old = lane.queue.filter((w): w is HeldWork => w.kind === 'held' && w.heldSince < tooOld);
      lane.queue = lane.queue.filter((w) => !(w.kind === 'held' && w.heldSince < tooOld));
      void demote(old);
    }
  }, 1000);

  const maintenance = setInterval(async () => {
    try {
      await relay();
      const failing = await endpointsFailingSince(db, o.disableAfterMs);
      for (const id of failing) {
        if (cache.get(id)?.row.enabled)
          disableEndpoint(id, 'failing', `no successful delivery for ${Math.round(o.disableAfterMs / 1000)} s`);
      }
    } catch (err) {
      logger.warn('maintenance failed', { err });
    }
  }, o.maintenanceMs);
  void relay(); // what a previous run left in the outbox

  return {
    nudge,
    async stop() {
      stopped = true;
      stopResume();
      clearInterval(maintenance);
      clearInterval(sweep);
      if (pollTimer) clearTimeout(pollTimer);
      messages?.stop();
      await intakeLoop.catch(() => undefined);
      while (runningBatches.size) await Promise.all([...runningBatches]);
      // Received but not batched yet: written down as pending rows (stopped: nothing is held any more).
      if (pendingMsgs.length)
        await processBatch(pendingMsgs.splice(0), Date.now()).catch((err) => logger.warn('last intake batch failed', { err }));
      // What is queued and not started goes back: claimed rows lose their lease, held deliveries are written
      // down as pending rows (and their messages acked), for another replica or the next start.
      const claimed: { id: string; token: string }[] = [];
      const queuedHeld: HeldWork[] = [];
      for (const l of lanes.values()) {
        if (l.timer) clearTimeout(l.timer);
        for (const w of l.queue.splice(0)) {
          if (w.kind === 'claimed') claimed.push({ id: w.id, token: w.lease_token });
          else queuedHeld.push(w);
        }
      }
      const demoted = demote(queuedHeld);
      const deadline = Date.now() + 5000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (writing) await writing;
      await flushResults();
      await releaseLeases(db, claimed).catch(() => undefined);
      await demoted;
      if (relaying) await relaying;
      await agent.close().catch(() => undefined);
    },
  };
}
