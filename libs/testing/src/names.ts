import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Names that isolate one test (stream, subjects, RPC subjects, databases), so test files run in parallel. */
export function testNames(label = 't') {
  const id = `${label}${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9]/g, '');
  return {
    id,
    STREAM_NAME: `T_${id.toUpperCase()}`,
    SUBJECT_PREFIX: `t_${id}`,
    RPC_PREFIX: `rpc_${id}`,
    DB_PREFIX: `t_${id}_`,
  };
}
export type TestNames = ReturnType<typeof testNames>;

export const PG_TEMPLATE = process.env.DATABASE_URL_TEMPLATE ?? 'postgres://postgres@127.0.0.1:5432/{db}';
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

export function dbUrl(names: TestNames, service: string): string {
  return PG_TEMPLATE.replace('{db}', `${names.DB_PREFIX}${service.replace(/-/g, '_')}`);
}

/** The environment a service process needs to join this test's isolated world. */
export function serviceEnv(names: TestNames, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    NATS_URL,
    STREAM_NAME: names.STREAM_NAME,
    SUBJECT_PREFIX: names.SUBJECT_PREFIX,
    RPC_PREFIX: names.RPC_PREFIX,
    DB_PREFIX: names.DB_PREFIX,
    DATABASE_URL_TEMPLATE: PG_TEMPLATE,
    // Billing refuses to start without its Stripe keys; a test that uses Stripe passes a fake Stripe's (see
    // startFakeStripe). Elsewhere these point at a closed local port: collection attempts fail fast and retry.
    STRIPE_API_KEY: 'sk_test_no_stripe_in_this_test',
    STRIPE_WEBHOOK_SECRET: 'whsec_no_stripe_in_this_test',
    STRIPE_API_BASE: 'http://127.0.0.1:9',
    ...extra,
  };
}
