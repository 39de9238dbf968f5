import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropDatabase } from '@pep/db';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';

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
    ...extra,
  };
}

/** Connects to NATS and provisions this test's own stream; `cleanup` deletes it and the test databases. */
export async function createTestBus(names: TestNames, services: string[] = []) {
  const bus = await connectBus({ url: NATS_URL, name: `test-${names.id}`, stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '2' }),
  );
  return {
    bus,
    async cleanup() {
      await bus.jsm.streams.delete(names.STREAM_NAME).catch(() => undefined);
      await closeBus(bus);
      for (const s of services) await dropDatabase(dbUrl(names, s)).catch(() => undefined);
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitUntil<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

/** Starts `services/<name>/src/main.ts` as its own process, as `npm start` does. */
export function spawnService(name: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'services', name, 'src', 'main.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Safety net: a test that fails before its cleanup must not leave a service running after the worker exits.
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
  return {
    name,
    child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** Waits until a service's `/readyz` answers 200. */
export async function waitReady(url: string, proc?: ServiceProcess, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    async () => {
      if (proc && (proc.child.exitCode !== null || proc.child.signalCode !== null)) {
        throw new Error(`${proc.name} exited early:\n${proc.output().slice(-4000)}`);
      }
      const r = await fetch(url).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    },
    { timeoutMs, what: `${url} to be ready${proc ? ` (${proc.name})` : ''}` },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${proc?.output().slice(-4000) ?? ''}`);
  });
}
export * from './engines.ts';
export * from './stream.ts';
export * from './otlp-receiver.ts';
