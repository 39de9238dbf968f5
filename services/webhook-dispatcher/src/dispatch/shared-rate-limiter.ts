import { type Logger, perSecondBucket, type TokenBuckets, tokenBuckets } from '@pep/runtime';
import { Redis } from 'ioredis';
import type { Clock } from './clock.ts';
import { TokenBucket } from './rate-limiter.ts';

/** What a lane asks before each attempt: a local or a shared token bucket. */
export interface RateGate {
  take(now: number): boolean;
  /** Milliseconds until it is worth asking again. */
  waitMs(now: number): number;
  setRate(ratePerS: number): void;
}

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
  private readonly buckets: TokenBuckets;
  /** @internal */
  readonly clock: Clock;
  private readonly failures: { inc(): void } | undefined;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly logger: Logger,
    opts: { clock?: Clock; failures?: { inc(): void } } = {},
  ) {
    this.clock = opts.clock ?? (() => Date.now());
    this.failures = opts.failures;
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
    this.redis.on('error', (err) => this.logger.warn('rate-limit redis error', { err: String(err) }));
    this.buckets = tokenBuckets(this.redis);
  }

  /** The gate of one endpoint; `onReady` runs when tokens arrived from Redis (pump the lane again). */
  gate(endpointId: string, ratePerS: number, onReady: () => void): RateGate {
    return new SharedGate(this, `${this.prefix}${endpointId}`, ratePerS, onReady);
  }

  /** @internal */
  async take(key: string, ratePerS: number, want: number): Promise<{ got: number; waitMs: number }> {
    const r = await this.buckets.take([perSecondBucket(key, ratePerS)], want);
    return { got: r.granted, waitMs: r.granted > 0 ? 0 : (r.buckets[0]?.msToOne ?? 1000) };
  }

  /** @internal Redis did not answer: logged and counted; the gate limits on its own meanwhile. */
  failed(key: string, err: unknown): void {
    this.failures?.inc();
    this.logger.warn('rate-limit redis unavailable; limiting this replica on its own for 5 s', { key, err: String(err) });
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch (err) {
      this.logger.debug('rate-limit redis quit failed; disconnecting', { err: String(err) });
      this.redis.disconnect();
    }
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
        const at = this.limiter.clock();
        this.local += got;
        this.localUntil = at + LOCAL_TTL_MS;
        this.retryAt = got > 0 ? 0 : at + waitMs;
      })
      .catch((err: unknown) => {
        // Redis unavailable: limit this replica on its own for a while rather than stop delivering.
        this.limiter.failed(this.key, err);
        const at = this.limiter.clock();
        this.fallback ??= new TokenBucket(this.rate, at);
        this.fallbackUntil = at + 5000;
      })
      .finally(() => {
        this.fetching = false;
        this.onReady();
      });
  }
}
