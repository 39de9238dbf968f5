import { StreamSettingsSchema } from '@pep/events';
import { baseConfigSchema, ConfigError, loadConfig } from '@pep/runtime';
import { z } from 'zod';

/** The gateway's settings: the shared base config, the stream settings, and its own HTTP and auth settings. */
export const gatewayConfigSchema = baseConfigSchema.extend(StreamSettingsSchema.shape).extend({
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Public base URL shown in OpenAPI `servers` (defaults to the listen address). */
  GATEWAY_PUBLIC_URL: z.url().optional(),
  PLATFORM_ADMIN_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Body limit of routes other than `/v1/events` (bytes). */
  GATEWAY_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  /** Body limit of `raw` routes (webhook ingress). */
  GATEWAY_RAW_BODY_LIMIT: z.coerce
    .number()
    .int()
    .min(1024)
    .default(5 * 1024 * 1024),
  /** How long an Idempotency-Key is kept. */
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().min(0.001).default(24),
  /** How long one request may hold an Idempotency-Key before another may take it over (a crashed gateway). */
  IDEMPOTENCY_LOCK_TIMEOUT_S: z.coerce.number().int().min(1).default(120),
  /** Default NATS request timeout for forwarded routes (a route's `timeoutMs` wins). */
  RPC_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  /**
   * Start-up window (ms): for this long after the gateway starts, a request to a service that has no responder yet
   * waits for it (polling) instead of failing; afterwards "no responders" is answered 503 + Retry-After at once.
   */
  GATEWAY_STARTUP_WAIT_MS: z.coerce.number().int().min(0).max(300_000).default(30_000),
  DB_POOL_SIZE: z.coerce.number().int().min(1).default(10),
  /**
   * How long `POST /v1/events` waits for JetStream to acknowledge a publish before answering 503 with
   * Retry-After (shorter than a client's patience: a hung broker must not fill every client slot).
   */
  GATEWAY_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
});
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const cfg = loadConfig(gatewayConfigSchema, env);
  if (cfg.NODE_ENV === 'production' && !cfg.PLATFORM_ADMIN_API_KEY) {
    throw new ConfigError('invalid configuration:\n  PLATFORM_ADMIN_API_KEY: required in production (the admin API key)');
  }
  return cfg;
}
