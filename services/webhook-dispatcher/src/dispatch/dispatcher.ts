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
} from '@pep/events';
import { type Logger, type Metrics, newId } from '@pep/runtime';
import { createSafeDispatcher, type SsrfPolicy } from '@pep/webhooks';
import { AckPolicy, type ConsumerMessages, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Kysely } from 'kysely';
import type { EndpointCommands } from '../app/endpoint-commands.ts';
import type { DispatcherDB } from '../db/schema.ts';
import { sendAttempt } from './attempt.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import type { CachedEndpoint, EndpointCache } from './endpoint-cache.ts';
import { TokenBucket } from './rate-limiter.ts';
import type { RateGate, SharedRateLimiter } from './shared-rate-limiter.ts';
import { maxAttempts, nextDelayMs, type RetryPolicy } from './retry-policy.ts';
import {
  type AttemptResult,
  type ClaimedDelivery,
  claimDue,
  completeAttempts,
  endpointsFailingSince,
  type IntakeEvent,
  insertDeliveries,
  type NewDelivery,
  pendingCount,
  recordHealth,
  releaseLeases,
  renewLease,
  withdrawDeliveries,
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
}

/** Deliveries claimed by this process for one endpoint, with that endpoint's limits. */
interface Lane {
  endpointId: string;
  queue: ClaimedDelivery[];
  inFlight: number;
  reserved: number;
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
 *  - Intake: a durable pull consumer shared by every replica reads all platform events; each batch becomes
 *    delivery rows in one statement (unique per endpoint and event, so a redelivered message or another
 *    replica never creates a second one), and only then are the messages acked.
 *  - Lanes: one per endpoint, each with its own concurrency, token-bucket rate limit and circuit breaker, so
 *    a slow or failing endpoint only ever holds its own slots.
 *  - Poller: claims due deliveries (retries, backlog, leases of a crashed replica) per endpoint with
 *    `FOR UPDATE SKIP LOCKED`, at most what each lane has room for.
 *  - Writer: records attempts in batches; every state change is guarded by the claim's lease token.
 */
export async function startDispatcher(o: DispatcherOptions): Promise<RunningDispatcher> {
  const { db, bus, logger, metrics, cache } = o;
  const agent = createSafeDispatcher(o.ssrf, { keepAliveTimeout: 30_000, connectTimeoutMs: 10_000 });
  const lanes = new Map<string, Lane>();
  let inFlight = 0;
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
  const mLag = metrics.gauge('webhook_consumer_lag', 'Events in the stream the dispatcher consumer has not read yet', [], async () => {
    const info = await bus.jsm.consumers.info(bus.stream, o.consumer.durable).catch(() => undefined);
    mLag.set(info ? info.num_pending + info.num_ack_pending : -1);
  });
  const mDispatchDelay = metrics.histogram(
    'webhook_dispatch_delay_seconds',
    'From an event stored in the stream to the start of its first attempt (deliveries handed off at intake)',
    [],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  const mIntake = metrics.histogram(
    'webhook_intake_stage_seconds',
    'Intake, per batch (its oldest event): stored in the stream → received by this process (stage=consumer), → batch started (stage=queued), → handed to the lanes after the commit (stage=commit)',
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
        reserved: 0,
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

  // Deliveries one lane holds in this process (queued + in flight): enough that a busy endpoint is fed from
  // the intake hand-off rather than from Postgres claims, few enough to be sent well within their leases.
  const laneCap = Math.min(5000, Math.max(256, o.endpointConcurrency * 64));
  const room = (lane: Lane) => laneCap - lane.queue.length - lane.inFlight - lane.reserved;

  // ---------------------------------------------------------------- writer (batched attempt records)
  const results: AttemptResult[] = [];
  const reportedHealth = new Map<string, { ok: boolean; at: number }>();
  let writing: Promise<void> | null = null;
  const flushResults = async () => {
    while (results.length) {
      const batch = results.splice(0, 500);
      const done = await completeAttempts(db, batch).catch(async (err) => {
        logger.warn('recording attempts failed, retrying', { err });
        await new Promise((r) => setTimeout(r, 500));
        return completeAttempts(db, batch).catch((e) => {
          logger.error('recording attempts failed; their leases will expire and they are retried', { err: e });
          return [];
        });
      });
      const health = new Map<string, boolean>();
      for (const r of batch) health.set(r.endpoint_id, (health.get(r.endpoint_id) ?? false) || r.outcome === 'succeeded');
      // Health rows change only when an endpoint flips between failing and succeeding (or every 5 s), so a
      // busy endpoint does not cost a write per batch.
      const now = Date.now();
      for (const [id, okNow] of health) {
        const last = reportedHealth.get(id);
        if (last && last.ok === okNow && now - last.at < 5000) health.delete(id);
        else reportedHealth.set(id, { ok: okNow, at: now });
      }
      await recordHealth(db, health).catch((err) => logger.warn('recording endpoint health failed', { err }));
      for (const d of done) {
        mDeliveries.inc({ outcome: d.status === 'pending' ? 'retrying' : d.status });
        if (d.status === 'failed')
          await publishExhausted(d).catch((err) => logger.error('exhausted event not published', { err, delivery_id: d.id }));
      }
    }
  };
  const ensureWriter = () => {
    if (writing) return;
    // Attempt records are not on the delivery path: gather them for a few ms so they cost a few commits a
    // second, not one per event-loop turn, and leave Postgres to the intake inserts that are.
    writing = new Promise<void>((resolve) => setTimeout(resolve, WRITER_GATHER_MS)).then(flushResults).finally(() => {
      writing = null;
      if (results.length) ensureWriter();
    });
  };
  const pushResult = (r: AttemptResult) => {
    results.push(r);
    ensureWriter();
  };

  const publishExhausted = async (d: {
    id: string;
    endpoint_id: string;
    partner_id: string;
    event_id: string;
    event_type: string;
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
  }) => {
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

  // ---------------------------------------------------------------- lanes
  const releaseQueue = (lane: Lane) => {
    if (lane.queue.length === 0) return;
    const items = lane.queue.splice(0).map((w) => ({ id: w.id, token: w.lease_token }));
    releaseLeases(db, items).catch((err) => logger.warn('releasing leases failed (they expire anyway)', { err }));
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
      const w = lane.queue.shift() as ClaimedDelivery;
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

  const attempt = async (lane: Lane, w: ClaimedDelivery) => {
    const ep = cache.get(w.endpoint_id);
    if (!ep?.row.enabled) {
      await releaseLeases(db, [{ id: w.id, token: w.lease_token }]);
      return;
    }
    if (w.lease_until - Date.now() < ep.row.timeout_ms + 500) {
      const renewed = await renewLease(db, w.id, w.lease_token, leaseMsFor(ep));
      if (renewed === null) return; // another process owns it now
      w.lease_until = renewed;
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
    if (w.stored_at_ms !== undefined) mDispatchDelay.observe(Math.max(0, now.getTime() - w.stored_at_ms) / 1000);
    const out = await sendAttempt(agent, {
      deliveryId: w.id,
      url: ep.row.url,
      body: w.body,
      secrets: cache.secretsFor(ep, now.getTime()),
      headers: ep.row.headers,
      timeoutMs: ep.row.timeout_ms,
      traceparent,
      now,
    });
    span.setAttribute('http.response.status_code', out.statusCode ?? 0);
    if (!out.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: out.error ?? 'failed' });
    span.end();
    mLatency.observe({ outcome: out.ok ? 'succeeded' : 'failed' }, out.latencyMs / 1000);
    const wasOpen = lane.breaker.state === 'open';
    lane.breaker.record(out.ok, Date.now());
    if (!wasOpen && lane.breaker.state === 'open') {
      logger.warn('circuit opened', { endpoint_id: lane.endpointId });
      releaseQueue(lane);
    }
    const gone = out.statusCode === 410;
    if (gone) {
      disableEndpoint(ep.row.id, 'gone', 'the endpoint answered 410 Gone');
      releaseQueue(lane);
    }
    pushResult({
      id: w.id,
      token: w.lease_token,
      endpoint_id: w.endpoint_id,
      outcome: out.ok ? 'succeeded' : 'failed',
      final: gone,
      retry_delay_ms: out.ok ? 0 : nextDelayMs(o.retry, w.attempts + 1, Math.random(), out.retryAfterMs),
      status_code: out.statusCode,
      error: out.error,
      error_class: out.errorClass,
      started_at: now,
      latency_ms: Math.round(out.latencyMs * 100) / 100,
      excerpt: out.excerpt,
    });
  };

  const enqueue = (items: ClaimedDelivery[]) => {
    const touched = new Set<Lane>();
    for (const w of items) {
      const ep = cache.get(w.endpoint_id);
      if (!ep) continue;
      const lane = laneFor(ep);
      lane.queue.push(w);
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
    max_ack_pending: 20_000,
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

  // Highest stream sequence of any webhook_endpoint event. A batch may be matched against the endpoint cache
  // only when the cache covers every endpoint event stored before the batch's messages; this is checked with
  // one JetStream direct get that runs IN PARALLEL with the batch's insert (not before it): when the check
  // finds the cache was behind (an endpoint changed in the meantime: rare), the batch is matched again with
  // the fresh read model and corrected before anything is sent or acked.
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
        decoded.push({ m, ev: parseEnvelope(body), body });
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

  /** Deliveries of a batch under the current endpoint cache; leases them to this process where the lane has room. */
  const plan = (decoded: { m: JsMsg; ev: RawEnvelope; body: string }[], token: string, now: number, skip?: Set<string>) => {
    const events: IntakeEvent[] = [];
    const deliveries: NewDelivery[] = [];
    const reservedLanes: Lane[] = [];
    for (const { m, ev, body } of decoded) {
      const eps = cache.matching(ev.partnerid, ev.type, ev.data, m.info.timestampNanos / 1e6);
      if (eps.length === 0) continue;
      let any = false;
      for (const ep of eps) {
        if (skip?.has(`${ep.row.id}:${m.seq}`)) continue;
        any = true;
        const lane = laneFor(ep);
        const lease = !stopped && room(lane) > 0 && lane.breaker.state === 'closed';
        if (lease) {
          lane.reserved++;
          reservedLanes.push(lane);
        } else {
          lane.backlog = true;
        }
        deliveries.push({
          id: newId('msg', now),
          endpoint_id: ep.row.id,
          partner_id: ep.row.partner_id,
          event_seq: m.seq,
          event_id: ev.id,
          event_type: ev.type,
          event_time: ev.time,
          replay_job_id: '',
          attempt_budget: budget,
          lease_ms: lease ? leaseMsFor(ep) : null,
          lease_token: lease ? token : null,
        });
      }
      if (any)
        events.push({
          seq: m.seq,
          id: ev.id,
          type: ev.type,
          partner_id: ev.partnerid ?? null,
          time: ev.time,
          traceparent: ev.traceparent ?? null,
          body,
        });
    }
    return { events, deliveries, reservedLanes };
  };

  /** (endpoint, event) pairs the batch matches under the current endpoint cache. */
  const matchKeys = (decoded: { m: JsMsg; ev: RawEnvelope }[]) => {
    const keys = new Set<string>();
    for (const { m, ev } of decoded)
      for (const ep of cache.matching(ev.partnerid, ev.type, ev.data, m.info.timestampNanos / 1e6)) keys.add(`${ep.row.id}:${m.seq}`);
    return keys;
  };

  const processBatch = async (msgs: JsMsg[], arrivedAt: number) => {
    const startedAt = Date.now();
    const oldest = Math.min(...msgs.map((m) => m.info.timestampNanos / 1e6));
    mIntake.observe({ stage: 'consumer' }, Math.max(0, arrivedAt - oldest) / 1000);
    mIntake.observe({ stage: 'queued' }, Math.max(0, startedAt - arrivedAt) / 1000);
    const decoded = await decode(msgs);
    if (decoded.length === 0) return;
    const maxSeq = Math.max(...decoded.map((d) => d.m.seq));
    const token = randomUUID();
    const now = Date.now();
    const seenSeq = cache.loadedSeq;
    // The check and the insert run side by side: one round trip on the hot path, not three.
    const watermark = endpointWatermark().catch((err) => {
      logger.warn('endpoint watermark unavailable; re-checking the batch against the read model', { err });
      return Number.POSITIVE_INFINITY;
    });
    const reserved: Lane[] = [];
    const release = () => {
      for (const l of reserved.splice(0)) l.reserved--;
    };
    try {
      const first = plan(decoded, token, now);
      reserved.push(...first.reservedLanes);
      const created = await insertDeliveries(db, first.events, first.deliveries);
      let deliveries = first.deliveries.filter((d) => created.has(d.id));
      let events = first.events;
      if (Math.min(await watermark, maxSeq) > seenSeq) {
        // The cache was behind an endpoint change stored before (or within) this batch: wait for the read
        // model, match again, withdraw what no longer matches and add what was missing (nothing was sent yet).
        await o
          .endpointsProjection()
          ?.waitFor(maxSeq, 10_000)
          .catch((err) => logger.warn('endpoints projection behind', { err }));
        await cache.refresh();
        const keep = matchKeys(decoded);
        const withdrawn = new Set(deliveries.filter((d) => !keep.has(`${d.endpoint_id}:${d.event_seq}`)).map((d) => d.id));
        await withdrawDeliveries(db, [...withdrawn], token);
        const second = plan(decoded, token, now, new Set(first.deliveries.map((d) => `${d.endpoint_id}:${d.event_seq}`)));
        reserved.push(...second.reservedLanes);
        const added = await insertDeliveries(db, second.events, second.deliveries);
        deliveries = [...deliveries.filter((d) => !withdrawn.has(d.id)), ...second.deliveries.filter((d) => added.has(d.id))];
        events = [...events, ...second.events];
      }
      for (const { m } of decoded) m.ack();
      release();
      // Hand-off: what this process leased goes straight to its endpoint lanes, right after the commit.
      const bodies = new Map(events.map((e) => [e.seq, e]));
      const storedAt = new Map(decoded.map((d) => [d.m.seq, d.m.info.timestampNanos / 1e6]));
      const work: ClaimedDelivery[] = [];
      let unleased = 0;
      for (const d of deliveries) {
        if (!d.lease_token) {
          unleased++;
          continue;
        }
        const e = bodies.get(d.event_seq) as IntakeEvent;
        work.push({
          id: d.id,
          endpoint_id: d.endpoint_id,
          event_id: d.event_id,
          event_type: d.event_type,
          attempts: 0,
          lease_token: d.lease_token,
          lease_until: now + (d.lease_ms ?? 0),
          body: e.body,
          traceparent: e.traceparent,
          stored_at_ms: storedAt.get(d.event_seq),
        });
      }
      mIntake.observe({ stage: 'commit' }, (Date.now() - startedAt) / 1000);
      enqueue(work);
      if (unleased) nudge();
    } catch (err) {
      release();
      logger.warn('intake batch failed; messages will be redelivered', { err });
      for (const { m } of decoded) m.nak(1000);
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
          if (stopped) break;
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

  // ---------------------------------------------------------------- maintenance
  const maintenance = setInterval(async () => {
    try {
      const failing = await endpointsFailingSince(db, o.disableAfterMs);
      for (const id of failing) {
        if (cache.get(id)?.row.enabled)
          disableEndpoint(id, 'failing', `no successful delivery for ${Math.round(o.disableAfterMs / 1000)} s`);
      }
    } catch (err) {
      logger.warn('maintenance failed', { err });
    }
  }, o.maintenanceMs);

  return {
    nudge,
    async stop() {
      stopped = true;
      clearInterval(maintenance);
      if (pollTimer) clearTimeout(pollTimer);
      messages?.stop();
      await intakeLoop.catch(() => undefined);
      while (runningBatches.size) await Promise.all([...runningBatches]);
      for (const m of pendingMsgs.splice(0)) m.nak();
      const deadline = Date.now() + 5000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (writing) await writing;
      await flushResults();
      const items: { id: string; token: string }[] = [];
      for (const l of lanes.values()) {
        if (l.timer) clearTimeout(l.timer);
        for (const w of l.queue.splice(0)) items.push({ id: w.id, token: w.lease_token });
      }
      await releaseLeases(db, items).catch(() => undefined);
      await agent.close().catch(() => undefined);
    },
  };
}
