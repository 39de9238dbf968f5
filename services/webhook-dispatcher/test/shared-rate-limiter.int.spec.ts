import { randomBytes } from 'node:crypto';
import { createLogger } from '@pep/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { SharedRateLimiter } from '../src/dispatch/shared-rate-limiter.ts';

// Two limiters against the real Redis stand for two dispatcher replicas sending to one endpoint.
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:${randomBytes(4).toString('hex')}:webhook-rate:`;
const logger = createLogger('shared-rate-limiter-test', 'error');
const replicas = [new SharedRateLimiter(REDIS_URL, prefix, logger), new SharedRateLimiter(REDIS_URL, prefix, logger)];

afterAll(async () => {
  for (const r of replicas) await r.close();
});

describe('per-endpoint rate limit shared by replicas (Redis)', () => {
  it('lets two replicas together take at most the burst plus the rate, never twice the limit', async () => {
    const rate = 5;
    const taken = [0, 0];
    const gates = replicas.map((r) => r.gate('wep_shared', rate, () => undefined));
    const start = Date.now();
    // Both replicas ask as often as they like for 2 s (as two busy lanes would).
    while (Date.now() - start < 2000) {
      gates.forEach((g, i) => {
        if (g.take(Date.now())) taken[i] = (taken[i] as number) + 1;
      });
      await new Promise((r) => setTimeout(r, 5));
    }
    const elapsedS = (Date.now() - start) / 1000;
    const total = (taken[0] as number) + (taken[1] as number);
    // Upper bound only (a slow machine takes fewer, never more): burst of `rate`, then `rate` a second.
    expect(total).toBeLessThanOrEqual(rate + Math.ceil(rate * elapsedS) + 1);
    expect(total).toBeGreaterThanOrEqual(rate); // and the limit is a limit, not a stop
  });

  it('keeps delivering with a bucket of its own when Redis is unreachable', async () => {
    const broken = new SharedRateLimiter('redis://127.0.0.1:1', prefix, logger);
    try {
      let ready = false;
      const gate = broken.gate('wep_offline', 5, () => {
        ready = true;
      });
      expect(gate.take(Date.now())).toBe(false); // asks Redis first
      const until = Date.now() + 10_000;
      while (!ready && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(ready).toBe(true);
      expect(gate.take(Date.now())).toBe(true); // then limits locally
    } finally {
      await broken.close();
    }
  });
});
