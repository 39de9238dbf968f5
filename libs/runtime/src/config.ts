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
  return r.data;
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
