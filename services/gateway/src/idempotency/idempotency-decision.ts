import { createHash } from 'node:crypto';
import type { Principal } from '@pep/contracts';
import type { HttpResult } from '../http/http-result.ts';

/** What is stored under one `Idempotency-Key`. */
export interface StoredIdempotencyKey {
  request_hash: string;
  state: 'in_flight' | 'done';
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  locked_at: Date;
  expires_at: Date;
}

export type IdempotencyDecision =
  /** Nothing usable is stored (no key, an expired one, or a lock left by a crashed request): run the request. */
  | { kind: 'execute' }
  /** The same request already finished: answer with what it answered. */
  | { kind: 'replay'; result: HttpResult }
  /** The key was used for a different request (method, path or body). */
  | { kind: 'mismatch' }
  /** The same request is still running. */
  | { kind: 'in_flight' };

/**
 * Stripe's `Idempotency-Key` semantics as a pure decision over what is stored, the incoming request's hash and
 * the time (passed in).
 */
export function decideIdempotency(
  stored: StoredIdempotencyKey | undefined,
  requestHash: string,
  now: Date,
  lockTimeoutMs: number,
): IdempotencyDecision {
  if (!stored || stored.expires_at.getTime() <= now.getTime()) return { kind: 'execute' };
  if (stored.request_hash !== requestHash) return { kind: 'mismatch' };
  if (stored.state === 'in_flight') {
    return stored.locked_at.getTime() + lockTimeoutMs > now.getTime() ? { kind: 'in_flight' } : { kind: 'execute' };
  }
  return {
    kind: 'replay',
    result: { status: stored.status ?? 200, headers: stored.headers ?? {}, body: stored.body ?? undefined },
  };
}

/**
 * Only answers the client may rely on are kept: a 5xx (the gateway or a service was down) may be retried. File
 * answers (bytes) are not kept: they come from reads, which are safe to run again.
 */
export function isStorable(result: HttpResult): boolean {
  return result.status < 500 && typeof result.body !== 'object';
}

/** Keys are scoped per partner (every credential of one partner shares them) and, for admins, per credential. */
export function idempotencyScope(principal: Principal): string {
  return principal.partner_id ? `partner:${principal.partner_id}` : `credential:${principal.credential_id}`;
}

export function requestHash(method: string, url: string, body: string | Uint8Array | undefined): string {
  const h = createHash('sha256').update(method).update(' ').update(url).update('\n');
  if (body !== undefined) h.update(body);
  return h.digest('hex');
}

/** Visible ASCII, 1 to 255 characters (Stripe allows 255). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Headers of the original response that are replayed (request-specific ones are not). */
export function storableHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (name === 'x-request-id' || name === 'traceparent' || name.startsWith('ratelimit') || name === 'retry-after') continue;
    out[name] = v;
  }
  return out;
}
