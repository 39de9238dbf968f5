import type { Logger } from '@pep/runtime';
import { Redis } from 'ioredis';
import { TokenBucket } from './rate-limiter.ts';

/** What a lane asks before each attempt: a local or a shared token bucket. */
export interface RateGate {
  take(now: number): boolean;
  /** Milliseconds until it is worth asking again. */
  waitMs(now: number): number;
  setRate(ratePerS: number): void;
}

/**
 * One token bucket per endpoint in Redis, refilled at the endpoint's rate with a burst of one second's worth
 * (Redis' clock, so replicas agree). Takes up to `want` tokens at once; returns [granted, ms to wait].
 */
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local got = math.min(want, math.floor(tokens))
tokens = tokens - got
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
local wait = 0
if got == 0 then wait = math.ceil((1 - tokens) * 1000 / rate) end
return {got, wait}`;

/** Tokens taken from Redis are used within this long or dropped (so an idle replica never hoards them). */
const LOCAL_TTL_MS = 1000;

/**
 * Per-endpoint rate limits shared by every dispatcher replica. A replica takes tokens from Redis in small
 * chunks (a tenth of a second's worth) and spends them locally, so an attempt does not wait for Redis and
 * Redis sees at most ~10 requests a second per busy endpoint per replica. Tokens a replica took but did not use
 * expire unused: the replicas together stay at or below the limit, never above. If Redis fails, the lane falls
 * back to a bucket of its own (the limit then holds per replica) until Redis answers again.
 */
export class SharedRateLimiter {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
    this.redis.on('error', (err) => this.logger.warn('rate-limit redis error', { err: String(err) }));
  }

  /** The gate of one endpoint; `onReady` runs when tokens arrived from Redis (pump the lane again). */
  gate(endpointId: string, ratePerS: number, onReady: () => void): RateGate {
    return new SharedGate(this, `${this.prefix}${endpointId}`, ratePerS, onReady);
  }

  /** @internal */
  async take(key: string, ratePerS: number, want: number): Promise<{ got: number; waitMs: number }> {
    const [got, waitMs] = (await this.redis.eval(TAKE, 1, key, ratePerS, Math.max(1, ratePerS), want)) as [number, number];
    return { got, waitMs };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

class SharedGate implements RateGate {
  private local = 0;
  private localUntil = 0;
  private fetching = false;
  private retryAt = 0;
  private fallback: TokenBucket | null = null;
  private fallbackUntil = 0;

  constructor(
    private readonly limiter: SharedRateLimiter,
    private readonly key: string,
    private rate: number,
    private readonly onReady: () => void,
  ) {}

  setRate(ratePerS: number): void {
    this.rate = ratePerS;
    this.fallback?.setRate(ratePerS);
  }

  take(now: number): boolean {
    if (this.fallback && now < this.fallbackUntil) return this.fallback.take(now);
    if (now > this.localUntil) this.local = 0;
    if (this.local >= 1) {
      this.local--;
      if (this.local < 1) this.fetch(now);
      return true;
    }
    this.fetch(now);
    return false;
  }

  waitMs(now: number): number {
    if (this.fallback && now < this.fallbackUntil) return this.fallback.waitMs(now);
    if (this.fetching) return 1000; // onReady pumps the lane as soon as the answer is in
    return Math.max(1, this.retryAt - now);
  }

  private fetch(now: number): void {
    if (this.fetching || now < this.retryAt) return;
    this.fetching = true;
    const want = Math.max(1, Math.ceil(this.rate / 10));
    this.limiter
      .take(this.key, this.rate, want)
      .then(({ got, waitMs }) => {
        const at = Date.now();
        this.local += got;
        this.localUntil = at + LOCAL_TTL_MS;
        this.retryAt = got > 0 ? 0 : at + waitMs;
      })
      .catch(() => {
        // Redis unavailable: limit this replica on its own for a while rather than stop delivering.
        this.fallback ??= new TokenBucket(this.rate, Date.now());
        this.fallbackUntil = Date.now() + 5000;
      })
      .finally(() => {
        this.fetching = false;
        this.onReady();
      });
  }
}
