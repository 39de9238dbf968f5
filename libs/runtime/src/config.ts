import { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * Config is a zod schema over the environment, parsed once at start-up (CONVENTIONS.md, Code 7).
 * A missing or invalid variable stops the service with a message naming it.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const r = schema.safeParse(env);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const conflicts = configConflicts(r.data as Record<string, unknown>);
  if (conflicts.length > 0) throw new ConfigError(`invalid configuration:\n${conflicts.map((c) => `  ${c}`).join('\n')}`);
  return r.data;
}

/** The subjects `<prefix>.>` covers, as NATS tokens. */
const tokens = (prefix: string) => prefix.split('.');
/** True when `<a>.>` and `<b>.>` share subjects: one prefix's tokens begin the other's. */
function subjectsOverlap(a: string, b: string): boolean {
  const [ta, tb] = [tokens(a), tokens(b)];
  const n = Math.min(ta.length, tb.length);
  return ta.slice(0, n).join('.') === tb.slice(0, n).join('.');
}

/**
 * Settings that parse one by one but cannot work together, each named with its variables. The stream
 * captures `<SUBJECT_PREFIX>.>`; request-reply subjects are `<RPC_PREFIX>.<service>.<pattern>`. When one
 * covers the other, the stream stores every service request (and a dispatcher dead-letters them as "not an
 * event envelope") while the request itself gets a JetStream ack for an answer, so every route fails.
 */
export function configConflicts(cfg: Record<string, unknown>): string[] {
  const out: string[] = [];
  const { SUBJECT_PREFIX: subject, RPC_PREFIX: rpc } = cfg;
  if (typeof subject === 'string' && typeof rpc === 'string' && subjectsOverlap(subject, rpc)) {
    out.push(
      subject === rpc
        ? `RPC_PREFIX, SUBJECT_PREFIX: both are "${rpc}"; the stream (${subject}.>) would capture every service request (${rpc}.<service>.…): give them different values`
        : `RPC_PREFIX, SUBJECT_PREFIX: "${rpc}" and "${subject}" overlap (one begins the other, token by token); the stream (${subject}.>) would capture service requests (${rpc}.<service>.…): give them values where neither begins the other`,
    );
  }
  return out;
}

/** The settings every service shares. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  STREAM_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('PLATFORM'),
  SUBJECT_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]+$/)
    .default('platform'),
  RPC_PREFIX: z
    .string()
    .regex(/^[a-z0-9_-]+$/)
    .default('rpc'),
  DATABASE_URL_TEMPLATE: z.string().default('postgres://postgres@127.0.0.1:5432/{db}'),
  DB_PREFIX: z
    .string()
    .regex(/^[a-z0-9_]*$/)
    .default('platform_'),
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
});
export type BaseConfig = z.output<typeof baseConfigSchema>;

export function databaseUrl(cfg: BaseConfig, service: string): string {
  return cfg.DATABASE_URL_TEMPLATE.replace('{db}', `${cfg.DB_PREFIX}${service.replace(/-/g, '_')}`);
}
