import { parseKeyring } from '@pep/runtime';
import { z } from 'zod';

const optional = z
  .string()
  .optional()
  .transform((v) => v || undefined);

/** Settings of the rollback orchestrator on top of the base config (CONVENTIONS.md, Code 7). */
export const orchestratorConfigSchema = z
  .object({
    /**
     * The keyring sealing provider tokens and webhook secrets in events and tables: `id:key,id:key` (each 32 bytes as
     * 64 hex chars or base64). ROLLBACK_SECRETS_KEY_CURRENT (default: the first) seals; every listed key still opens.
     */
    ROLLBACK_SECRETS_KEYS: optional,
    ROLLBACK_SECRETS_KEY_CURRENT: optional,
    /** A single key without an id (before keyrings): joins the keyring as `default`; alone, it is the current key. */
    ROLLBACK_SECRETS_KEY: optional,
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    /** Incident intake limit per customer (requests per minute). */
    INCIDENT_RATE_LIMIT_PER_MIN: z.coerce.number().int().min(1).default(100),
    /** Outbound calls (flag providers, custom webhooks) may reach these ranges/hosts although they are private. */
    OUTBOUND_ALLOWLIST: z.string().default(''),
    OUTBOUND_HTTPS_ONLY: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    /** Budget of one action (all its retries). */
    ACTION_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
    /** How long past the action budget a claimed action stays with the process that claimed it (then another may take it over). */
    CLAIM_GRACE_MS: z.coerce.number().int().min(0).default(15_000),
    /** Per-attempt timeout of a partner flag webhook call (the partner program says 2 s). */
    FLAG_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(50).default(2000),
    FLAG_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
    /** Ack wait of the saga's consumers; a handler still working extends it (so after a crash, redelivery comes this soon). */
    RUN_ACK_WAIT_MS: z.coerce.number().int().min(500).default(10_000),
    /** Concurrent runs per process. */
    RUN_CONCURRENCY: z.coerce.number().int().min(1).default(64),
    SMTP_URL: z.string().optional(),
    MAIL_FROM: z.string().default('PathCanary rollbacks <rollbacks@partner-platform.dev>'),
    /** Public base URL used in links (revert pull request bodies, emails). */
    PUBLIC_BASE_URL: z.string().default('http://127.0.0.1:3000'),
    GITHUB_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).default(20_000),
  })
  .superRefine((c, ctx) => {
    if (!c.ROLLBACK_SECRETS_KEYS && !c.ROLLBACK_SECRETS_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['ROLLBACK_SECRETS_KEYS'],
        message: 'ROLLBACK_SECRETS_KEYS (id:key,…) or ROLLBACK_SECRETS_KEY is required (32 bytes, hex or base64)',
      });
      return;
    }
    try {
      parseKeyring({ keys: c.ROLLBACK_SECRETS_KEYS, current: c.ROLLBACK_SECRETS_KEY_CURRENT, legacy: c.ROLLBACK_SECRETS_KEY });
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['ROLLBACK_SECRETS_KEYS'], message: (err as Error).message });
    }
  });
export type OrchestratorSettings = z.output<typeof orchestratorConfigSchema>;
