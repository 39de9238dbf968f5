// Billing refuses to start without its Stripe secrets, naming the missing one, before it touches NATS or Postgres.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, serviceEnv, testNames } from '@pep/testing';
import { describe, expect, it } from 'vitest';

function run(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'services/billing/src/main.ts')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, out });
    });
  });
}

describe('billing without its Stripe secrets', () => {
  const names = testNames('stripecfg');
  it.each(['STRIPE_API_KEY', 'STRIPE_WEBHOOK_SECRET'])('refuses to start without %s, naming it', async (missing) => {
    const env = serviceEnv(names, { HEALTH_PORT: '0' });
    delete env[missing];
    const r = await run(env);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain(`${missing} is required`);
    expect(r.out).not.toMatch(/service started/);
  });
});
