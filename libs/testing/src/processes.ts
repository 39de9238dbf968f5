import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './names.ts';
import { waitUntil } from './wait.ts';

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
      // A refused connection while the service starts is a retry of waitUntil, which reports the last error.
      const r = await fetch(url);
      return r.status === 200 ? true : undefined;
    },
    { timeoutMs, what: `${url} to be ready${proc ? ` (${proc.name})` : ''}` },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${proc?.output().slice(-4000) ?? ''}`);
  });
}
