import { randomBytes } from 'node:crypto';

/** W3C trace context helpers: the trace flows HTTP → NATS headers → consumers → outbound HTTP. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** A child span id in the same trace (for the next hop), or a fresh trace when the parent is absent/invalid. */
export function childTraceparent(parent: string | undefined | null): string {
  const m = parent ? TRACEPARENT.exec(parent) : null;
  if (!m) return newTraceparent();
  return `00-${m[1]}-${randomBytes(8).toString('hex')}-${m[3]}`;
}

export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
}

export function isTraceparent(v: unknown): v is string {
  return typeof v === 'string' && TRACEPARENT.test(v);
}
