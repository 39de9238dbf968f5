import { describe, expect, it } from 'vitest';
import {
  decideIdempotency,
  IDEMPOTENCY_KEY_PATTERN,
  idempotencyScope,
  isStorable,
  requestHash,
  type StoredIdempotencyKey,
  storableHeaders,
} from '../src/idempotency/idempotency-decision.ts';

const now = new Date('2026-01-01T12:00:00Z');
const LOCK = 120_000;
const stored = (over: Partial<StoredIdempotencyKey> = {}): StoredIdempotencyKey => ({
  request_hash: 'h1',
  state: 'done',
  status: 201,
  headers: { 'content-type': 'application/json' },
  body: '{"id":"prt_1"}',
  locked_at: new Date(now.getTime() - 1000),
  expires_at: new Date(now.getTime() + 3600_000),
  ...over,
});

describe('Idempotency-Key decision', () => {
  it('given no stored key, when a request comes, then it runs', () => {
    expect(decideIdempotency(undefined, 'h1', now, LOCK)).toEqual({ kind: 'execute' });
  });

  it('given a finished request with the same hash, then its response is replayed', () => {
    expect(decideIdempotency(stored(), 'h1', now, LOCK)).toEqual({
      kind: 'replay',
      result: { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":"prt_1"}' },
    });
  });

  it('given the key was used with another body, then it is a mismatch (also while in flight)', () => {
    expect(decideIdempotency(stored(), 'h2', now, LOCK)).toEqual({ kind: 'mismatch' });
    expect(decideIdempotency(stored({ state: 'in_flight' }), 'h2', now, LOCK)).toEqual({ kind: 'mismatch' });
  });

  it('given the same request still in flight, then 409; once the lock is stale, it may run again', () => {
    expect(decideIdempotency(stored({ state: 'in_flight' }), 'h1', now, LOCK)).toEqual({ kind: 'in_flight' });
    const stale = stored({ state: 'in_flight', locked_at: new Date(now.getTime() - LOCK - 1) });
    expect(decideIdempotency(stale, 'h1', now, LOCK)).toEqual({ kind: 'execute' });
  });

  it('given an expired key, then the request runs as new, whatever its body', () => {
    const expired = stored({ expires_at: new Date(now.getTime() - 1) });
    expect(decideIdempotency(expired, 'h1', now, LOCK)).toEqual({ kind: 'execute' });
    expect(decideIdempotency(expired, 'other', now, LOCK)).toEqual({ kind: 'execute' });
  });

  it('keeps 4xx answers and never 5xx ones', () => {
    expect(isStorable({ status: 201, headers: {}, body: '' })).toBe(true);
    expect(isStorable({ status: 422, headers: {}, body: '' })).toBe(true);
    expect(isStorable({ status: 503, headers: {}, body: '' })).toBe(false);
    expect(isStorable({ status: 500, headers: {}, body: '' })).toBe(false);
    expect(isStorable({ status: 200, headers: {}, body: Buffer.from('%PDF') })).toBe(false);
  });

  it('scopes keys per partner, and per credential for admins', () => {
    expect(idempotencyScope({ kind: 'partner', partner_id: 'prt_1', scopes: [], credential_id: 'key_1' })).toBe('partner:prt_1');
    expect(idempotencyScope({ kind: 'oauth', partner_id: 'prt_1', scopes: [], credential_id: 'tok_1' })).toBe('partner:prt_1');
    expect(idempotencyScope({ kind: 'admin', scopes: ['admin'], credential_id: 'admin_env' })).toBe('credential:admin_env');
  });

  it('hashes method, path and body, so any of them changing is a different request', () => {
    const base = requestHash('POST', '/v1/partners', '{"a":1}');
    expect(requestHash('POST', '/v1/partners', '{"a":1}')).toBe(base);
    expect(requestHash('POST', '/v1/partners', '{"a":2}')).not.toBe(base);
    expect(requestHash('PATCH', '/v1/partners', '{"a":1}')).not.toBe(base);
    expect(requestHash('POST', '/v1/partners/x', '{"a":1}')).not.toBe(base);
    expect(requestHash('POST', '/v1/partners', undefined)).not.toBe(base);
  });

  it('accepts visible ASCII keys of 1 to 255 characters', () => {
    expect(IDEMPOTENCY_KEY_PATTERN.test('a')).toBe(true);
    expect(IDEMPOTENCY_KEY_PATTERN.test('x'.repeat(255))).toBe(true);
    expect(IDEMPOTENCY_KEY_PATTERN.test('x'.repeat(256))).toBe(false);
    expect(IDEMPOTENCY_KEY_PATTERN.test('')).toBe(false);
    expect(IDEMPOTENCY_KEY_PATTERN.test('with space')).toBe(false);
  });

  it('does not replay request-specific headers', () => {
    expect(
      storableHeaders({ 'Content-Type': 'application/json', 'x-request-id': 'r1', location: '/v1/x', 'ratelimit-remaining': '3' }),
    ).toEqual({
      'content-type': 'application/json',
      location: '/v1/x',
    });
  });
});
