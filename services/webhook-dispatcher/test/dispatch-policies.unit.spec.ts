import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/dispatch/circuit-breaker.ts';
import { TokenBucket } from '../src/dispatch/rate-limiter.ts';
import { maxAttempts, nextDelayMs, parseRetryAfter, type RetryPolicy } from '../src/dispatch/retry-policy.ts';
import { deliveryId } from '../src/dispatch/store.ts';

const MIN = 60_000;
const policy: RetryPolicy = { delaysMs: [2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN], jitter: 0.2, retryAfterMaxMs: 3_600_000 };

describe('retry schedule', () => {
  it('is immediately, then 2, 4, 8, 16 minutes: 5 attempts', () => {
    expect(maxAttempts(policy)).toBe(5);
    expect([1, 2, 3, 4].map((n) => nextDelayMs(policy, n, 0.5))).toEqual([2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN]);
  });
  it('jitters by at most ±20%', () => {
    expect(nextDelayMs(policy, 1, 0)).toBe(0.8 * 2 * MIN);
    expect(nextDelayMs(policy, 1, 0.999999)).toBeCloseTo(1.2 * 2 * MIN, -1);
  });
  it('honours a longer Retry-After up to the cap, never a shorter one', () => {
    expect(nextDelayMs(policy, 1, 0.5, 10 * MIN)).toBe(10 * MIN);
    expect(nextDelayMs(policy, 1, 0.5, 1000)).toBe(2 * MIN);
    expect(nextDelayMs(policy, 1, 0.5, 10 * 3_600_000)).toBe(3_600_000);
  });
  it('parses Retry-After seconds and HTTP dates', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('circuit breaker', () => {
  const opts = { windowMs: 10_000, minRequests: 4, failureRatio: 0.5, openMs: 5000 };
  it('opens on the failure ratio over the window, half-opens for one probe, closes on its success', () => {
    const b = new CircuitBreaker(opts);
    b.record(true, 0);
    b.record(false, 1);
    b.record(true, 2);
    expect(b.state).toBe('closed');
    b.record(false, 3);
    expect(b.state).toBe('open');
    expect(b.allow(4000)).toBe(false);
    expect(b.allow(5003)).toBe(true);
    expect(b.state).toBe('half_open');
    b.onStart();
    expect(b.allow(5004)).toBe(false); // one probe at a time
    b.record(true, 5100);
    expect(b.state).toBe('closed');
  });
  it('re-opens when the probe fails, and forgets outcomes older than the window', () => {
    const b = new CircuitBreaker(opts);
    for (let i = 0; i < 4; i++) b.record(false, i);
    expect(b.allow(5004)).toBe(true);
    b.onStart();
    b.record(false, 5005);
    expect(b.state).toBe('open');
    expect(b.allow(6000)).toBe(false);
    const c = new CircuitBreaker(opts);
    c.record(false, 0);
    c.record(false, 1);
    for (let i = 0; i < 3; i++) c.record(true, 20_000 + i);
    c.record(false, 20_010);
    expect(c.state).toBe('closed'); // 1 of 4 in the window
  });
  it('a probe that sent nothing (its mapping failed) gives the slot back without closing or opening', () => {
    const b = new CircuitBreaker(opts);
    for (let i = 0; i < 4; i++) b.record(false, i);
    expect(b.allow(5004)).toBe(true);
    b.onStart();
    expect(b.allow(5005)).toBe(false);
    b.release();
    expect(b.state).toBe('half_open');
    expect(b.allow(5006)).toBe(true); // the next attempt is the probe
  });
});

describe('token bucket', () => {
  it('allows a burst of one second, then the rate', () => {
    const t = new TokenBucket(5, 0);
    let n = 0;
    while (t.take(0)) n++;
    expect(n).toBe(5);
    expect(t.waitMs(0)).toBe(200);
    expect(t.take(199)).toBe(false);
    expect(t.take(200)).toBe(true);
  });
});

describe('delivery ids', () => {
  const at = Date.parse('2026-11-23T10:00:00.000Z');
  it('are the same for the same endpoint, event and replay job in every process', () => {
    expect(deliveryId('wep_a', 42, '', at)).toBe(deliveryId('wep_a', 42, '', at));
    expect(deliveryId('wep_a', 42, '', at)).toMatch(/^msg_[0-9a-hjkmnp-tv-z]{26}$/);
  });
  it('differ by endpoint, event and replay job', () => {
    const ids = new Set([
      deliveryId('wep_a', 42, '', at),
      deliveryId('wep_b', 42, '', at),
      deliveryId('wep_a', 43, '', at),
      deliveryId('wep_a', 42, 'whjob_1', at),
    ]);
    expect(ids.size).toBe(4);
  });
  it('sort by the time the event was stored, like the ULIDs of other ids', () => {
    const earlier = deliveryId('wep_z', 9, '', at);
    const later = deliveryId('wep_a', 1, '', at + 1);
    expect(earlier < later).toBe(true);
  });
});
