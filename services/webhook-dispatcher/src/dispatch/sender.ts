import { aggregateSubject, childTraceparent, type EventBus } from '@pep/events';
import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Dispatcher } from 'undici';
import type { MappingCache } from '../projections/integration-mappings/index.ts';
import type { AttemptWriter } from './attempt-writer.ts';
import { sendAttempt } from './attempt.ts';
import { deliveryFailedEvent, mappingFailedEvent } from './delivery-events.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import type { HeldLedger } from './held-ledger.ts';
import type { Lane } from './lanes.ts';
import { nextDelayMs, type RetryPolicy } from './retry-policy.ts';
import { type AttemptResult, releaseLeases, renewLease } from './store.ts';
import { trafficClass } from './traffic.ts';
import type { Work } from './work.ts';
import type { DispatchCore } from './core.ts';

const W3C = new W3CTraceContextPropagator();
const tracer = trace.getTracer('webhook-dispatcher');

export interface SenderOptions extends DispatchCore {
  bus: EventBus;
  agent: Dispatcher;
  cache: EndpointCache;
  mappings?: MappingCache | undefined;
  ledger: HeldLedger;
  writer: AttemptWriter;
  retry: RetryPolicy;
  ackWaitMs: number;
  leaseMsFor: (timeoutMs: number) => number;
  /** Gives back what a lane has not started (its circuit opened, its endpoint is gone). */
  releaseQueue: (lane: Lane) => void;
  disableEndpoint: (endpointId: string, reason: 'gone', detail: string) => void;
}

/** A child span of the delivery's trace around one attempt, and the traceparent the request carries. */
function startAttemptSpan(w: Work) {
  const parent = w.traceparent
    ? W3C.extract(
        context.active(),
        { traceparent: w.traceparent },
        { get: (c, k) => (k === 'traceparent' ? c.traceparent : undefined), keys: () => ['traceparent'] },
      )
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
  return { span, traceparent };
}

/** Makes one attempt of a delivery in its lane, feeds the breaker, and hands the result to the writer. */
export function createSender(o: SenderOptions) {
  return async function attempt(lane: Lane, w: Work): Promise<void> {
    const ep = o.cache.get(w.endpoint_id);
    if (!ep?.row.enabled) {
      // Disabled or deleted since: nothing is sent; the delivery waits as a pending row.
      if (w.kind === 'held') await o.ledger.demote([w]);
      else await releaseLeases(o.db, [{ id: w.id, token: w.lease_token }]);
      return;
    }
    if (w.kind === 'claimed') {
      if (w.lease_until - o.clock() < ep.row.timeout_ms + 500) {
        const renewed = await renewLease(o.db, w.id, w.lease_token, o.leaseMsFor(ep.row.timeout_ms));
        if (renewed === null) return; // another process owns it now
        w.lease_until = renewed;
      }
    } else if (o.clock() - w.heldSince + ep.row.timeout_ms + 5000 > o.ackWaitMs) {
      w.msg.m.working(); // too close to the ack deadline: restart it, so the attempt and its record fit
    }
    const { span, traceparent } = startAttemptSpan(w);
    const now = new Date(o.clock());
    if (w.kind === 'held') o.metrics.dispatchDelay.observe(Math.max(0, now.getTime() - w.stored_at_ms) / 1000);
    const mapping = ep.row.integration_id ? o.mappings?.get(ep.row.integration_id, w.event_type) : undefined;
    const out = await sendAttempt(o.agent, {
      ...(mapping ? { mapping: { version: mapping.version, compiled: mapping.compiled } } : {}),
      deliveryId: w.id,
      url: ep.row.url,
      body: w.body,
      format: ep.row.payload_format,
      secrets: o.cache.secretsFor(ep, now.getTime()),
      headers: ep.row.headers,
      timeoutMs: ep.row.timeout_ms,
      traceparent,
      now,
    });
    span.setAttribute('http.response.status_code', out.statusCode ?? 0);
    if (!out.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: out.error ?? 'failed' });
    span.end();
    let outboxEvent: AttemptResult['outbox_event'] = null;
    const integrationId = ep.row.integration_id;
    if (out.mappingFailure && mapping) {
      // An integration error: nothing was sent, the endpoint is not at fault (no breaker outcome, no latency).
      lane.breaker.release();
      const event = mappingFailedEvent(w, ep.row.partner_id, mapping, out.mappingFailure, now);
      outboxEvent = { id: event.id, subject: aggregateSubject(o.bus.prefix, 'webhook_delivery', w.id), event };
    } else {
      o.metrics.latency.observe({ outcome: out.ok ? 'succeeded' : 'failed' }, out.latencyMs / 1000);
      if (!out.ok && integrationId) {
        const cls = trafficClass({ outcome: 'failed', status_code: out.statusCode, error_class: out.errorClass });
        const event = deliveryFailedEvent(
          w,
          ep.row.partner_id,
          integrationId,
          {
            cls: cls === 'success' ? 'network' : cls,
            statusCode: out.statusCode,
            error: out.error,
            excerpt: out.excerpt,
            latencyMs: out.latencyMs,
          },
          now,
        );
        outboxEvent = { id: event.id, subject: aggregateSubject(o.bus.prefix, 'webhook_delivery', w.id), event };
      }
    }
    const wasOpen = lane.breaker.state === 'open';
    if (!out.mappingFailure) lane.breaker.record(out.ok, o.clock());
    if (!wasOpen && lane.breaker.state === 'open') {
      o.metrics.recovered('circuit', 'circuit opened', { endpoint_id: lane.endpointId });
      o.releaseQueue(lane);
    }
    const gone = out.statusCode === 410;
    if (gone) {
      o.disableEndpoint(ep.row.id, 'gone', 'the endpoint answered 410 Gone');
      o.releaseQueue(lane);
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
      outbox_event: outboxEvent,
    };
    const meta = { partnerId: ep.row.partner_id, integrationId, eventType: w.event_type };
    if (w.kind === 'claimed') o.writer.claimed(result, meta);
    else o.writer.sent(w, result, meta);
  };
}
