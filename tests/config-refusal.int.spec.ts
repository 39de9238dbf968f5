import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, serviceEnv, testNames } from '@pep/testing';
import { describe, expect, it } from 'vitest';

// Configuration that cannot work stops a process at start, with a message naming the variables, before it
// touches NATS or Postgres: here RPC_PREFIX equal to SUBJECT_PREFIX (the stream would capture every request).
function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, entry)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, NO_COLOR: '1' },
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

describe('a configuration that cannot work', () => {
  const names = testNames('cfg');
  const env = serviceEnv(names, { RPC_PREFIX: names.SUBJECT_PREFIX, HEALTH_PORT: '0', PLATFORM_DEMO: '0' });

  it.each([
    ['npm start', 'scripts/start.ts'],
    ['a service', 'services/partner-registry/src/main.ts'],
  ])('is refused by %s, naming RPC_PREFIX and SUBJECT_PREFIX', async (_what, entry) => {
    const r = await run(entry, env);
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toContain(`RPC_PREFIX, SUBJECT_PREFIX: both are "${names.SUBJECT_PREFIX}"`);
    expect(r.out).not.toMatch(/service started|services ready/);
  });
});
