import { randomFillSync } from 'node:crypto';

/** W3C trace context helpers: the trace flows HTTP → NATS headers → consumers → outbound HTTP. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

// Trace and span ids come from the CSPRNG 4 KiB at a time: one call per 170 ids instead of one or two per
// id (a per-id call was a measurable share of the webhook dispatcher's CPU).
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const hex = pool.toString('hex', poolAt, poolAt + bytes);
  poolAt += bytes;
  return hex;
}

export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/** A child span id in the same trace (for the next hop), or a fresh trace when the parent is absent/invalid. */
export function childTraceparent(parent: string | undefined | null): string {
  const m = parent ? TRACEPARENT.exec(parent) : null;
  if (!m) return newTraceparent();
  return `00-${m[1]}-${randomHex(8)}-${m[3]}`;
}

export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
}

export function isTraceparent(v: unknown): v is string {
  return typeof v === 'string' && TRACEPARENT.test(v);
}
