import { type Logger, RateLimitedError } from '@pep/runtime';
import { Redis } from 'ioredis';

/**
 * Incident intake limit per customer: a fixed one-minute window counted in Redis (INCR + PEXPIRE in one
 * round trip), shared by every replica. When Redis is unreachable the intake stays open (an incident must
 * not be lost because the limiter is down) and the failure is logged.
 */
export function createIntakeLimiter(opts: {
  url: string;
  limitPerMinute: number;
  logger: Logger;
  prefix: string;
  /** Counts what the limiter could not do because Redis was away (`connection` errors, `check`s let through). */
  onUnavailable?: (what: 'connection' | 'check') => void;
}) {
  const redis = new Redis(opts.url, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  // ioredis reconnects by itself and repeats 'error' while it does: counted every time, logged once per outage.
  let outage = false;
  redis.on('ready', () => {
    outage = false;
  });
  redis.on('error', (err) => {
    opts.onUnavailable?.('connection');
    if (outage) return;
    outage = true;
    opts.logger.warn('rate limiter lost Redis; incidents are let through until it is back', { err });
  });
  return {
    async check(partnerId: string, customerId: string, now: number): Promise<void> {
      const window = Math.floor(now / 60_000);
      const key = `${opts.prefix}:rl:incidents:${partnerId}:${customerId}:${window}`;
      let count: number;
      try {
        const res = await redis.multi().incr(key).pexpire(key, 61_000).exec();
        count = Number(res?.[0]?.[1] ?? 0);
      } catch (err) {
        opts.onUnavailable?.('check');
        opts.logger.warn('rate limiter unavailable, letting the incident through', { err });
        return;
      }
      if (count > opts.limitPerMinute) {
        const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
        throw new RateLimitedError(`more than ${opts.limitPerMinute} incidents per minute for customer ${customerId}`, retryAfter);
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}
export type IntakeLimiter = ReturnType<typeof createIntakeLimiter>;
