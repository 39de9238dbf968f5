import { PARTNER_TIERS, type PartnerTier, type Principal } from '@pep/contracts';
import { type BucketSpec, type Logger, loadConfig, type TakeResult, type TokenBuckets, tokenBuckets } from '@pep/runtime';
import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { GatewayConfig } from '../config.ts';
import { IDENTITY_STORE } from '../identity/identity-tokens.ts';
import type { IdentityStore } from '../identity/identity-projection.ts';
import { CONFIG, LOGGER } from '../tokens.ts';

/** The route a request is for, as the rate limiter sees it. */
export interface RateLimitedRoute {
  operationId: string;
  method: string;
  path: string;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Headers for the response either way (`RateLimit-Policy`, `RateLimit`). */
  headers: Record<string, string>;
  /** When refused: seconds until a retry may succeed. */
  retryAfterSeconds?: number;
}

export const rateLimitConfigSchema = z.object({
  RATE_LIMIT_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Per-minute limits by tier (defaults: contracts' PARTNER_TIERS). */
  RATE_LIMIT_STANDARD_PER_MIN: z.coerce.number().int().min(1).optional(),
  RATE_LIMIT_PREMIUM_PER_MIN: z.coerce.number().int().min(1).optional(),
  RATE_LIMIT_ENTERPRISE_PER_MIN: z.coerce.number().int().min(1).optional(),
  /** Per-minute limit of each client address on public reads called without a credential (marketplace browsing). */
  RATE_LIMIT_PUBLIC_PER_MIN: z.coerce.number().int().min(1).default(600),
  /** Most tokens one replica takes from Redis at once (local leasing keeps Redis off the hot path). */
  RATE_LIMIT_LEASE_MAX: z.coerce.number().int().min(1).default(50),
  /** How long leased tokens may be used before they lapse. */
  RATE_LIMIT_LEASE_MS: z.coerce.number().int().min(10).default(1000),
});
export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;

const WINDOW_MS = 60_000;
const ALLOW: RateLimitDecision = Object.freeze({ allowed: true, headers: Object.freeze({}) as Record<string, string> });

interface Lease {
  tokens: number;
  expires: number;
  /** Tokens the shared buckets had left at the last fetch (for the `RateLimit` header). */
  sharedRemaining: number;
  msToFull: number;
  deniedUntil: number;
  retryMs: number;
  inflight?: Promise<void>;
}

interface Limits {
  leaseKey: string;
  buckets: BucketSpec[];
  policy: string;
  name: string;
  capacity: number;
}

/**
 * Token buckets per credential and per partner, limits by tier, shared across gateway replicas through
 * Redis. To keep Redis off the hot path, a replica leases a few tokens at a time (at most 1% of the limit,
 * `RATE_LIMIT_LEASE_MAX` at most) and serves them locally for up to `RATE_LIMIT_LEASE_MS`; tokens only ever
 * come out of the shared buckets, so the combined limit holds whatever the number of replicas (leased tokens
 * that lapse unused are lost, never doubled). A refused request caches the refusal until the next token is
 * due, so a flood of 429s does not reach Redis either. Platform admin credentials are not limited. When
 * Redis cannot be reached the limiter lets requests through (logged): availability over strictness.
 */
@Injectable()
export class RateLimiter implements OnModuleDestroy {
  private readonly cfg: RateLimitConfig;
  private readonly redis: Redis | undefined;
  private readonly buckets: TokenBuckets | undefined;
  private readonly leases = new Map<string, Lease>();
  private readonly prefix: string;
  private lastRedisError = 0;

  constructor(
    @Inject(CONFIG) gateway: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(IDENTITY_STORE) private readonly identity?: IdentityStore,
  ) {
    this.cfg = loadConfig(rateLimitConfigSchema);
    this.prefix = `rl:${gateway.SUBJECT_PREFIX}`;
    if (this.cfg.RATE_LIMIT_ENABLED) {
      this.redis = new Redis(this.cfg.REDIS_URL, {
        lazyConnect: false,
        enableOfflineQueue: true,
        maxRetriesPerRequest: 1,
        commandTimeout: 500,
        connectionName: 'gateway-rate-limit',
      });
      this.redis.on('error', (err) => this.redisFailed(err));
      this.buckets = tokenBuckets(this.redis);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis?.quit().catch((err: unknown) => this.logger.warn('closing the rate limiter Redis connection failed', { err }));
  }

  tierLimit(tier: PartnerTier): number {
    const override = {
      standard: this.cfg.RATE_LIMIT_STANDARD_PER_MIN,
      premium: this.cfg.RATE_LIMIT_PREMIUM_PER_MIN,
      enterprise: this.cfg.RATE_LIMIT_ENTERPRISE_PER_MIN,
    }[tier];
    return override ?? PARTNER_TIERS[tier].rate_limit_per_minute;
  }

  /**
   * `clientAddress`: the caller's address, which limits public reads (GET) called without a credential; webhook
   * ingress (public POSTs from providers) is not limited by address.
   */
  check(principal: Principal | undefined, route: RateLimitedRoute, clientAddress?: string): RateLimitDecision | Promise<RateLimitDecision> {
    if (!this.buckets) return ALLOW;
    if (!principal) return route.method === 'GET' && clientAddress ? this.take(this.publicLimits(clientAddress)) : ALLOW;
    if (principal.kind === 'admin' || !principal.partner_id) return ALLOW;
    const limits = this.limitsFor(principal);
    if (!limits) return ALLOW;
    return this.take(limits);
  }

  private publicLimits(address: string): Limits {
    const cap = this.cfg.RATE_LIMIT_PUBLIC_PER_MIN;
    return {
      leaseKey: `address|${address}|${cap}`,
      buckets: [{ key: `${this.prefix}:{address:${address}}:public`, capacity: cap, windowMs: WINDOW_MS }],
      policy: `"address";q=${cap};w=60`,
      name: 'address',
      capacity: cap,
    };
  }

  private take(limits: Limits): RateLimitDecision | Promise<RateLimitDecision> {
    const now = Date.now();
    const lease = this.leases.get(limits.leaseKey);
    if (lease) {
      const fast = this.fromLease(lease, limits, now);
      if (fast) return fast;
    }
    return this.refill(limits);
  }

  private limitsFor(principal: Principal): Limits | undefined {
    const partnerId = principal.partner_id as string;
    const state = this.identity?.state;
    const tier = state?.partners.get(partnerId)?.tier ?? 'standard';
    const partnerCap = this.tierLimit(tier);
    let credentialCap = partnerCap;
    if (principal.kind === 'partner') {
      const own = state?.keys.get(principal.credential_id)?.rate_limit_per_minute;
      if (own) credentialCap = Math.min(own, partnerCap);
    }
    const tag = `{${partnerId}}`;
    const buckets: BucketSpec[] = [
      { key: `${this.prefix}:${tag}:partner`, capacity: partnerCap, windowMs: WINDOW_MS },
      { key: `${this.prefix}:${tag}:cred:${principal.credential_id}`, capacity: credentialCap, windowMs: WINDOW_MS },
    ];
    const policies = [`"partner";q=${partnerCap};w=60`];
    if (credentialCap < partnerCap) policies.push(`"credential";q=${credentialCap};w=60`);
    const limiting = credentialCap < partnerCap ? 'credential' : 'partner';
    return {
      leaseKey: `${partnerId}|${principal.credential_id}|${partnerCap}|${credentialCap}`,
      buckets,
      policy: policies.join(', '),
      name: limiting,
      capacity: Math.min(partnerCap, credentialCap),
    };
  }

  private leaseSize(capacity: number): number {
    return Math.max(1, Math.min(this.cfg.RATE_LIMIT_LEASE_MAX, Math.floor(capacity / 100)));
  }

  private headers(limits: Limits, remaining: number, resetMs: number): Record<string, string> {
    return {
      'ratelimit-policy': limits.policy,
      ratelimit: `"${limits.name}";r=${Math.max(0, remaining)};t=${Math.max(0, Math.ceil(resetMs / 1000))}`,
    };
  }

  /** Serves from the local lease: a leased token, or a cached refusal. Undefined = ask Redis. */
  private fromLease(lease: Lease, limits: Limits, now: number): RateLimitDecision | undefined {
    if (lease.tokens > 0 && now < lease.expires) {
      lease.tokens--;
      return { allowed: true, headers: this.headers(limits, lease.sharedRemaining + lease.tokens, lease.msToFull) };
    }
    if (now < lease.deniedUntil) return this.refusal(limits, lease.deniedUntil - now);
    return undefined;
  }

  private refusal(limits: Limits, retryMs: number): RateLimitDecision {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryMs / 1000));
    return { allowed: false, retryAfterSeconds, headers: this.headers(limits, 0, retryMs) };
  }

  private async refill(limits: Limits): Promise<RateLimitDecision> {
    let lease = this.leases.get(limits.leaseKey);
    if (!lease) {
      lease = { tokens: 0, expires: 0, sharedRemaining: limits.capacity, msToFull: 0, deniedUntil: 0, retryMs: 0 };
      this.leases.set(limits.leaseKey, lease);
      if (this.leases.size > 100_000) this.leases.delete(this.leases.keys().next().value as string);
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      if (lease.inflight) {
        await lease.inflight;
        const served = this.fromLease(lease, limits, Date.now());
        if (served) return served;
        continue;
      }
      const l = lease;
      let failed = false;
      l.inflight = this.fetch(limits)
        .then((r) => {
          const t = Date.now();
          // Leased tokens that lapsed unused are simply dropped (never given back twice).
          l.tokens = r.granted;
          l.expires = t + this.cfg.RATE_LIMIT_LEASE_MS;
          l.sharedRemaining = Math.min(...r.buckets.map((b) => b.remaining));
          l.msToFull = Math.max(...r.buckets.map((b) => b.msToFull));
          if (r.granted === 0) {
            l.retryMs = Math.max(...r.buckets.map((b) => b.msToOne), 1);
            l.deniedUntil = t + l.retryMs;
          } else l.deniedUntil = 0;
        })
        .catch((err) => {
          failed = true;
          this.redisFailed(err);
        })
        .finally(() => {
          l.inflight = undefined;
        });
      await l.inflight;
      if (failed) return ALLOW;
      const served = this.fromLease(l, limits, Date.now());
      if (served) return served;
    }
    return this.refusal(limits, lease.retryMs || 1000);
  }

  private fetch(limits: Limits): Promise<TakeResult> {
    return (this.buckets as TokenBuckets).take(limits.buckets, this.leaseSize(limits.capacity));
  }

  private redisFailed(err: unknown): void {
    const now = Date.now();
    if (now - this.lastRedisError > 10_000) {
      this.lastRedisError = now;
      this.logger.warn('rate limiter cannot reach Redis; requests pass unlimited meanwhile', { err });
    }
  }
}
