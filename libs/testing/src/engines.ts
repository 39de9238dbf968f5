// Private engines for fault tests: a nats-server, a 3-node JetStream cluster and a PostgreSQL 15 cluster that
// belong to the test alone, so a test can SIGKILL or stop them without touching the machine's shared ones.
// Every engine listens on loopback only, is stopped by its PID when the test is done (or, as a safety net, when
// the test worker exits), and its temp directory is removed.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, waitUntil } from './wait.ts';

const run = promisify(execFile);

/** The nats-server binary: NATS_SERVER_BIN, else Debian's /usr/sbin/nats-server, else the one on PATH. */
export const NATS_SERVER_BIN =
  process.env.NATS_SERVER_BIN ?? (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');
/** PostgreSQL's server binaries: PG_BIN_DIR, else Debian's 15, else the newest under /usr/lib/postgresql. */
export const PG_BIN_DIR = process.env.PG_BIN_DIR ?? debianPgBinDir();

function debianPgBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(join(root, '15', 'bin'))) return join(root, '15', 'bin');
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(root, newest, 'bin') : join(root, '15', 'bin');
}
/** The OS user PostgreSQL runs as when the tests run as root (initdb and postgres refuse root). */
const PG_OS_USER = process.env.PG_OS_USER ?? 'postgres';

// Safety net: whatever a test did not stop is stopped (by PID) and removed when the worker exits.
const cleanups = new Set<() => void>();
process.once('exit', () => {
  for (const c of cleanups) {
    try {
      c();
    } catch (err) {
      // The worker is exiting: say what could not be cleaned up, and go on with the other cleanups.
      process.stderr.write(`engine cleanup at exit failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
});

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface NatsServerOptions {
  /** Server name (`-n`); required in a cluster. */
  name?: string;
  port?: number;
  storeDir?: string;
  /** `--cluster_name`, `--cluster` listen port and the other nodes' route ports. */
  cluster?: { name: string; port: number; routes: number[] };
}

/** One nats-server process of the test's own; `kill` and `start` simulate a crash and a restart on the same port and store. */
export interface NatsServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  pid(): number | undefined;
  running(): boolean;
  /** The server's log so far (tail). */
  log(): string;
  /** Starts (or restarts) the process on the same port and store and waits until it accepts connections. */
  start(): Promise<void>;
  /** Sends a signal (default SIGKILL) to the process and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the process (if running) and removes its store (when the harness created it). */
  destroy(): Promise<void>;
}

export async function natsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const port = opts.port ?? (await freePort());
  const ownStore = !opts.storeDir;
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'pep-nats-'));
  const name = opts.name ?? `nats-${port}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const cleanup = () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (ownStore) rmSync(storeDir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);

  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir, '-n', name];
  if (opts.cluster) {
    args.push(
      '--cluster_name',
      opts.cluster.name,
      '--cluster',
      `nats://127.0.0.1:${opts.cluster.port}`,
      '--routes',
      opts.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','),
    );
  }
  const running = () => !!child && child.exitCode === null && child.signalCode === null;

  const server: NatsServer = {
    name,
    port,
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    pid: () => (running() ? child?.pid : undefined),
    running,
    log: () => out,
    async start() {
      if (running()) return;
      const c = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      const keep = (b: Buffer) => {
        out += b.toString();
        if (out.length > 100_000) out = out.slice(-50_000);
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      await waitUntil(
        async () => {
          if (c.exitCode !== null || c.signalCode !== null) throw new Error(`nats-server ${name} exited:\n${out.slice(-3000)}`);
          return (await portOpen(port)) || undefined;
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `nats-server ${name} on port ${port}` },
      );
    },
    async kill(signal = 'SIGKILL') {
      if (!running()) return;
      child?.kill(signal);
      await exited;
    },
    async destroy() {
      await server.kill('SIGKILL');
      cleanups.delete(cleanup);
      if (ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** Waits until JetStream answers through `url` (a cluster needs a meta leader first). */
export async function waitJetStream(url: string, timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    async () => {
      const nc = await connect({ servers: url.split(','), timeout: 1000, reconnect: false });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000 });
        await jsm.getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    },
    { timeoutMs, intervalMs: 200, what: `JetStream at ${url}` },
  );
}

export interface NatsCluster {
  readonly nodes: NatsServer[];
  /** Every node's client URL, comma-separated (what NATS_URL takes). */
  readonly url: string;
  node(name: string): NatsServer;
  destroy(): Promise<void>;
}

/** A JetStream cluster of `size` nodes on loopback, each with its own store; resolves once JetStream answers. */
export async function natsCluster(size = 3): Promise<NatsCluster> {
  const clusterName = `pep${Math.random().toString(36).slice(2, 8)}`;
  const clusterPorts: number[] = [];
  for (let i = 0; i < size; i++) clusterPorts.push(await freePort());
  const nodes: NatsServer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await natsServer({
          name: `${clusterName}-n${i + 1}`,
          cluster: { name: clusterName, port: clusterPorts[i] as number, routes: clusterPorts.filter((_, j) => j !== i) },
        }),
      );
    }
    const url = nodes.map((n) => n.url).join(',');
    await waitJetStream(url, 60_000);
    return {
      nodes,
      url,
      node(name) {
        const n = nodes.find((x) => x.name === name);
        if (!n) throw new Error(`no node ${name} in ${nodes.map((x) => x.name).join(', ')}`);
        return n;
      },
      async destroy() {
        await Promise.all(nodes.map((n) => n.destroy()));
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.destroy()));
    throw err;
  }
}

/** A private PostgreSQL cluster (initdb into a temp dir, trust auth, loopback); `stop('immediate')` + `start()` is a crash and restart. */
export interface PostgresCluster {
  readonly port: number;
  readonly dataDir: string;
  /** `postgres://postgres@127.0.0.1:<port>/{db}`: what DATABASE_URL_TEMPLATE takes. */
  readonly urlTemplate: string;
  url(db: string): string;
  /** The postmaster's PID while it runs. */
  pid(): number | undefined;
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>` (default immediate: no checkpoint, crash recovery at the next start). */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  destroy(): Promise<void>;
}

function asPgUser(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return root ? run('runuser', ['-u', PG_OS_USER, '--', cmd, ...args]) : run(cmd, args);
}

export async function postgresCluster(): Promise<PostgresCluster> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'pep-pg-'));
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root) {
    const { stdout } = await run('id', ['-u', PG_OS_USER]);
    const { stdout: gid } = await run('id', ['-g', PG_OS_USER]);
    chownSync(dataDir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pgData = join(dataDir, 'data');
  const pidOf = (): number | undefined => {
    const f = join(pgData, 'postmaster.pid');
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
    try {
      process.kill(pid, 0);
      return pid;
    } catch (err) {
      // ESRCH: no such process (the pid file is stale); anything else (EPERM) means it runs.
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return undefined;
      return pid;
    }
  };
  const cleanup = () => {
    const pid = pidOf();
    if (pid) process.kill(pid, 'SIGQUIT'); // immediate shutdown, by PID
    rmSync(dataDir, { recursive: true, force: true });
  };
  cleanups.add(cleanup);
  await asPgUser(join(PG_BIN_DIR, 'initdb'), [
    '-D',
    pgData,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dataDir}`,
    '-c fsync=off',
    '-c max_connections=200',
    '-c shared_buffers=32MB',
  ].join(' ');

  const pg: PostgresCluster = {
    port,
    dataDir,
    urlTemplate: `postgres://postgres@127.0.0.1:${port}/{db}`,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    pid: pidOf,
    async start() {
      if (pidOf()) return;
      await asPgUser(join(PG_BIN_DIR, 'pg_ctl'), [
        '-D',
        pgData,
        '-o',
        options,
        '-l',
        join(dataDir, 'postgres.log'),
        '-w',
        '-t',
        '60',
        'start',
      ]);
    },
    async stop(mode = 'immediate') {
      if (!pidOf()) return;
      await asPgUser(join(PG_BIN_DIR, 'pg_ctl'), ['-D', pgData, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    async destroy() {
      await pg.stop('immediate').catch((err: unknown) => {
        process.stderr.write(`pg_ctl stop failed (${err instanceof Error ? err.message : String(err)}): killing postgres\n`);
        const pid = pidOf();
        if (pid) process.kill(pid, 'SIGKILL');
      });
      cleanups.delete(cleanup);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await pg.start();
  } catch (err) {
    cleanup();
    cleanups.delete(cleanup);
    throw err;
  }
  return pg;
}
