import { ConfigError } from '@pep/runtime';
import { type Keyring, parseEncryptionKey, parseKeyring } from '@pep/webhooks';
import { z } from 'zod';

const msList = (def: string) =>
  z
    .string()
    .default(def)
    .transform((s, ctx) => {
      const out = s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
        .map(Number);
      if (out.some((n) => !Number.isFinite(n) || n < 0)) ctx.addIssue({ code: 'custom', message: 'comma-separated milliseconds' });
      return out;
    });

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

/** Settings of the webhook dispatcher (on top of the base config), parsed once at start-up. */
export const dispatcherConfigSchema = z.object({
  /**
   * The keyring that encrypts endpoint secrets at rest: `id:key,id:key` (each key 32 bytes as 64 hex chars or
   * base64). The first (or WEBHOOK_SECRET_KEY_CURRENT) seals new secrets; every listed key still opens what it
   * sealed. `pnpm ops secrets reencrypt` moves every secret to the current key.
   */
  WEBHOOK_SECRET_KEYS: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .refine((v) => v === undefined || keyringError({ keys: v }) === undefined, {
      message: 'must be id:key,id:key with ids of [A-Za-z0-9_-] and keys of 32 bytes (64 hex chars or base64)',
    }),
  WEBHOOK_SECRET_KEY_CURRENT: z
    .string()
    .regex(/^([A-Za-z0-9_-]{1,32})?$/)
    .optional()
    .transform((v) => v || undefined),
  /** A single key without an id (before keyrings): it joins the keyring as `default` and opens `enc:v1:` values. */
  WEBHOOK_SECRET_KEY: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .refine((v) => {
      if (v === undefined) return true;
      try {
        parseEncryptionKey(v);
        return true;
      } catch (err) {
        // Not a key: the refinement's message names the variable (a non-Error throw is a bug, rethrown).
        if (err instanceof Error) return false;
        throw err;
      }
    }, 'must be 32 bytes as 64 hex chars or base64'),
  /** Comma-separated CIDRs / addresses / host names let through the SSRF policy (tests allow loopback). */
  WEBHOOK_SSRF_ALLOWLIST: z.string().default(''),
  WEBHOOK_HTTPS_ONLY: bool(false),
  /** Delays before attempts 2..n after a failure; attempts = 1 + the list's length. Default 2, 4, 8, 16 min. */
  WEBHOOK_RETRY_DELAYS_MS: msList('120000,240000,480000,960000'),
  WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(0.5).default(0.2),
  /** Upper bound of a receiver's Retry-After (a longer one is capped). */
  WEBHOOK_RETRY_AFTER_MAX_MS: z.coerce.number().int().min(0).default(3_600_000),
  WEBHOOK_DEFAULT_TIMEOUT_MS: z.coerce.number().int().min(100).max(15_000).default(2000),
  WEBHOOK_SECRET_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(24 * 3600 * 1000),
  /** An endpoint failing this long without a success is disabled. Default 5 days. */
  WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(5 * 24 * 3600 * 1000),
  /** Attempts in flight per endpoint in this process (fairness: a slow endpoint holds at most this many). */
  WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  /** Attempts in flight in this process over all endpoints. */
  WEBHOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(512),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(10).default(250),
  /** How often compiled integration mappings are refreshed from their read model (a cheap max(seq) query). */
  WEBHOOK_MAPPING_REFRESH_MS: z.coerce.number().int().min(50).default(500),
  WEBHOOK_MAINTENANCE_MS: z.coerce.number().int().min(100).default(10_000),
  /** A claimed delivery's lease is its endpoint timeout plus this; an expired lease is claimed again. */
  WEBHOOK_LEASE_EXTRA_MS: z.coerce.number().int().min(100).default(10_000),
  /** Redis holding per-endpoint rate limits shared by every replica; unset: each process limits on its own. */
  WEBHOOK_REDIS_URL: z.string().optional(),
  WEBHOOK_RATE_LIMIT_PREFIX: z.string().default('pep:webhook:rate:'),
  WEBHOOK_BREAKER_WINDOW_MS: z.coerce.number().int().min(100).default(30_000),
  WEBHOOK_BREAKER_MIN_REQUESTS: z.coerce.number().int().min(1).default(10),
  WEBHOOK_BREAKER_FAILURE_RATIO: z.coerce.number().min(0.01).max(1).default(0.5),
  WEBHOOK_BREAKER_OPEN_MS: z.coerce.number().int().min(10).default(30_000),
  /** This replica's id in traffic rollups (`webhook.deliveries.rolled_up`'s `reporter`); stable per replica. Default `<host>-<pid>`. */
  WEBHOOK_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
  WEBHOOK_CONSUMER: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('webhook-dispatcher'),
  WEBHOOK_ACK_WAIT_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Where the consumer starts on first creation: `all` (every event in the stream) or `new`. */
  WEBHOOK_DELIVER_POLICY: z.enum(['all', 'new']).default('all'),
});
export type DispatcherConfig = z.output<typeof dispatcherConfigSchema>;

function keyringError(opts: Parameters<typeof parseKeyring>[0]): string | undefined {
  try {
    parseKeyring(opts);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The endpoint-secret keyring from WEBHOOK_SECRET_KEYS / WEBHOOK_SECRET_KEY_CURRENT / WEBHOOK_SECRET_KEY. */
export function secretKeyring(
  cfg: Pick<DispatcherConfig, 'WEBHOOK_SECRET_KEYS' | 'WEBHOOK_SECRET_KEY_CURRENT' | 'WEBHOOK_SECRET_KEY'>,
): Keyring {
  if (!cfg.WEBHOOK_SECRET_KEYS && !cfg.WEBHOOK_SECRET_KEY) {
    throw new ConfigError(
      'invalid configuration:\n  WEBHOOK_SECRET_KEYS: required (or WEBHOOK_SECRET_KEY): id:key pairs, 32 bytes each as 64 hex chars or base64 (encrypts endpoint secrets at rest)',
    );
  }
  try {
    return parseKeyring({ keys: cfg.WEBHOOK_SECRET_KEYS, current: cfg.WEBHOOK_SECRET_KEY_CURRENT, legacy: cfg.WEBHOOK_SECRET_KEY });
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n  WEBHOOK_SECRET_KEYS / WEBHOOK_SECRET_KEY_CURRENT: ${(err as Error).message}`);
  }
}
