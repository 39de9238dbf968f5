import {
  type Attributes,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TraceFlags,
  trace,
} from '@opentelemetry/api';

/**
 * Manual spans at the platform's boundaries (HTTP in, publish, consume, RPC, command, outbound webhook).
 * The trace context is handed from hop to hop as a W3C `traceparent` string (envelope, NATS header, RPC body,
 * HTTP header), so a boundary needs no async context: it starts its span as a child of the `traceparent` it
 * was given and passes its own on. While tracing is off (no exporter configured) every helper is a no-op
 * that passes the given `traceparent` through unchanged, and no span object is made.
 */
let enabled = false;

/** Called by startTelemetry once the SDK runs; spans are made only from then on. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export function tracingEnabled(): boolean {
  return enabled;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export type BoundaryKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal';
const KINDS: Record<BoundaryKind, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/** A started boundary span and the `traceparent` to send to the next hop (this span as the parent). */
export interface BoundarySpan {
  span: Span;
  traceparent: string;
  /** Ends the span; an error (or a status ≥ 500) marks it failed. */
  end(outcome?: { error?: unknown; status?: number }): void;
}

function parentContext(parent: string | undefined) {
  const m = parent ? TRACEPARENT.exec(parent) : null;
  if (!m || /^0+$/.test(m[1] as string)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16) as TraceFlags,
    isRemote: true,
  });
}

export function traceparentOf(span: Span, fallback?: string): string | undefined {
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return fallback;
  return `00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`;
}

/** Starts a span as a child of `parent` (a new trace when absent); undefined while tracing is off. */
export function startBoundarySpan(
  name: string,
  kind: BoundaryKind,
  parent: string | undefined,
  attributes: Attributes = {},
): BoundarySpan | undefined {
  if (!enabled) return undefined;
  const span = trace.getTracer('@pep/platform').startSpan(name, { kind: KINDS[kind], attributes }, parentContext(parent));
  return {
    span,
    traceparent: traceparentOf(span, parent) ?? '',
    end(outcome = {}) {
      if (outcome.status !== undefined) span.setAttribute('http.response.status_code', outcome.status);
      if (outcome.error !== undefined) {
        span.recordException(outcome.error instanceof Error ? outcome.error : String(outcome.error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: outcome.error instanceof Error ? outcome.error.message : String(outcome.error),
        });
      } else if (outcome.status !== undefined && outcome.status >= 500) {
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  };
}

/**
 * Runs `fn` inside a boundary span. `fn` gets the `traceparent` for its next hop: the span's while tracing
 * is on, `parent` unchanged while it is off.
 */
export async function withBoundarySpan<T>(
  name: string,
  kind: BoundaryKind,
  parent: string | undefined,
  attributes: Attributes,
  fn: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  const s = startBoundarySpan(name, kind, parent, attributes);
  if (!s) return fn(parent);
  try {
    const out = await fn(s.traceparent);
    s.end();
    return out;
  } catch (err) {
    s.end({ error: err });
    throw err;
  }
}
