import type { BaseConfig } from '@pep/runtime';
import { z } from 'zod';
import { accountsConfigSchema } from './app/accounts-config.ts';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

/** Registry settings on top of the base config (environment variables). */
export const registryConfigSchema = z
  .object({
    /** Addresses/ranges/hosts let through the SSRF rules (comma-separated, e.g. `127.0.0.1/32` in tests). */
    SSRF_ALLOW: z.string().default(''),
    /** Accept plain http webhook/health URLs (development and tests only). */
    ALLOW_HTTP_URLS: bool,
    /** Integration health checks: every 5 minutes by default. */
    INTEGRATION_HEALTH_INTERVAL_MS: z.coerce.number().int().min(50).default(300_000),
    INTEGRATION_HEALTH_TIMEOUT_MS: z.coerce.number().int().min(50).default(5_000),
    /** A 2xx slower than this counts as degraded. */
    INTEGRATION_DEGRADED_LATENCY_MS: z.coerce.number().int().min(1).default(2_000),
    INTEGRATION_HEALTH_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
    /** Health from traffic: an integration whose endpoints failed every webhook attempt in this window is down. */
    INTEGRATION_TRAFFIC_WINDOW_MS: z.coerce.number().int().min(60_000).default(900_000),
    /** ... when the window holds at least this many attempts (fewer say nothing). */
    INTEGRATION_TRAFFIC_MIN_ATTEMPTS: z.coerce.number().int().min(1).default(5),
    /** Email to partner contacts; off when SMTP_URL is unset. */
    SMTP_URL: z.string().url().optional(),
    MAIL_FROM: z.string().min(3).default('Partner Platform <no-reply@partner-platform.dev>'),
    KEY_EXPIRY_WARNING_DAYS: z.coerce.number().min(0).default(7),
    KEY_EXPIRY_SCAN_INTERVAL_MS: z.coerce.number().int().min(100).default(3_600_000),
  })
  .extend(accountsConfigSchema.shape);
export type RegistryConfig = BaseConfig & z.output<typeof registryConfigSchema>;
