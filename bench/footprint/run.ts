// bench/footprint (`pnpm bench:footprint`): resident memory of every service, as `npm start` runs them (each
// its own process against one NATS and one Postgres), beside a bare Node process as the baseline.
//
//   1. builds dist/ (FOOTPRINT_RUNTIME=tsx runs the TypeScript sources through tsx instead: the old way, to compare)
//   2. starts the baseline (a bare node:http server that answers 202) and every service on an isolated stream and
//      databases, waits until each is ready, lets them settle, and samples RSS: the idle figure
//   3. subscribes one partner's webhook endpoint (a loopback receiver) to lead.*, then drives the gateway's
//      POST /v1/events for FOOTPRINT_LOAD_S seconds (the same load against the baseline first) and samples RSS
//      every 250 ms: the peak under load
//   4. prints one table (idle, under load, each as a ratio to the baseline) and one JSON line; exits non-zero when
//      a service is over its idle floor (120 MiB, the gateway 180 MiB).
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { dropDatabase } from '@pep/db';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { dbUrl, freePort, NATS_URL, REPO_ROOT, serviceEnv, testNames, waitUntil } from '@pep/testing';
import autocannon from 'autocannon';
import { buildDist, compiledEntry, RUNTIME_ENV, runtimeFlags, serviceNames } from '../../scripts/build.ts';

const RUNTIME = process.env.FOOTPRINT_RUNTIME === 'tsx' ? 'tsx' : 'compiled';
const SETTLE_S = Number(process.env.FOOTPRINT_SETTLE_S ?? 15);
const LOAD_S = Number(process.env.FOOTPRINT_LOAD_S ?? 15);
const CONNECTIONS = Number(process.env.FOOTPRINT_CONNECTIONS ?? 16);
const FLOOR_MIB = 120;
const GATEWAY_FLOOR_MIB = 180;
/** Start order of `npm start`: owners of aggregates first, the gateway last. */
const ORDER = ['partner-registry', 'webhook-dispatcher', 'rollback-orchestrator', 'github-bridge', 'billing', 'marketplace', 'gateway'];

interface Proc {
  name: string;
  child: ChildProcess;
  port: number;
  output: () => string;
}

function launch(name: string, args: string[], env: NodeJS.ProcessEnv, port: number): Proc {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name, child, port, output: () => out };
}

/** Resident set size (VmRSS) of a process now, in MiB. */
function rssMiB(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Waits (bounded) until a service's /readyz answers 200; a service that exits first fails the bench with its output. */
async function ready(p: Proc, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${p.name} exited before it was ready:\n${p.output()}`);
    const r = await fetch(`http://127.0.0.1:${p.port}/readyz`).catch(() => undefined);
    if (r?.status === 200) return;
    await sleep(250);
  }
  throw new Error(`${p.name} was not ready within ${timeoutMs} ms:\n${p.output().slice(-4000)}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

function serviceSettings(name: string, adminKey: string, port: number): Record<string, string> {
  const secret = randomBytes(32).toString('hex');
  switch (name) {
    case 'gateway':
      return { GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_ENABLED: 'false' };
    case 'partner-registry':
      return { HEALTH_PORT: String(port), SSRF_ALLOW: '127.0.0.1/32', ALLOW_HTTP_URLS: 'true' };
    case 'webhook-dispatcher':
      return { HEALTH_PORT: String(port), WEBHOOK_SECRET_KEY: secret, WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8' };
    case 'rollback-orchestrator':
      return { HEALTH_PORT: String(port), ROLLBACK_SECRETS_KEY: secret, OUTBOUND_ALLOWLIST: '127.0.0.1/32' };
    case 'github-bridge':
      return {
        HEALTH_PORT: String(port),
        GITHUB_APP_ID: '1',
        GITHUB_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 2048 })
          .privateKey.export({ type: 'pkcs8', format: 'pem' })
          .toString(),
        GITHUB_WEBHOOK_SECRET: randomBytes(16).toString('hex'),
      };
    default:
      return { HEALTH_PORT: String(port) };
  }
}

/** The same POST load against any URL; returns the 2xx count. */
async function drive(url: string, headers: Record<string, string>, body: (n: number) => string): Promise<{ ok: number; non2xx: number }> {
  let n = 0;
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: LOAD_S,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: body(++n) }) }],
  });
  return { ok: r.requests.total - r.non2xx, non2xx: r.non2xx };
}

/** Samples RSS of every process every 250 ms while `work` runs; returns the peak of each. */
async function peakWhile<T>(procs: Proc[], work: Promise<T>): Promise<{ result: T; peak: Map<string, number> }> {
  const peak = new Map<string, number>();
  let done = false;
  const sampler = (async () => {
    while (!done) {
      for (const p of procs) peak.set(p.name, Math.max(peak.get(p.name) ?? 0, rssMiB(p.child.pid)));
      await sleep(250);
    }
  })();
  const result = await work.finally(() => {
    done = true;
  });
  await sampler;
  return { result, peak };
}

async function startReceiver() {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received: () => received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function main() {
  const services = ORDER.filter((s) => serviceNames().includes(s));
  if (RUNTIME === 'compiled') buildDist({ log: (l) => console.log(l) });
  const entry = (name: string) =>
    RUNTIME === 'compiled'
      ? [...runtimeFlags(name), compiledEntry(name)]
      : ['--import', 'tsx', join(REPO_ROOT, 'services', name, 'src', 'main.ts')];
  console.log(
    `bench/footprint: ${RUNTIME} services (${services.length}), settle ${SETTLE_S} s, load ${LOAD_S} s at ${CONNECTIONS} connections; node ${process.version}`,
  );

  const names = testNames('foot');
  const bus = await connectBus({ url: NATS_URL, name: 'bench-footprint', stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '1' }),
  );
  const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const receiver = await startReceiver();
  const procs: Proc[] = [];
  const stopAll = async () => {
    await Promise.all(
      procs.map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }),
    );
  };
  try {
    const basePort = await freePort();
    const baseline = launch(
      'bare node (baseline)',
      [
        '-e',
        `require('node:http').createServer((q,s)=>{q.resume();q.on('end',()=>s.writeHead(202,{'content-type':'application/json'}).end('{}'))}).listen(${basePort},'127.0.0.1')`,
      ],
      { PATH: process.env.PATH },
      basePort,
    );
    procs.push(baseline);
    const svcProcs: Proc[] = [];
    for (const name of services) {
      const port = await freePort();
      const env = {
        ...(RUNTIME === 'compiled' ? RUNTIME_ENV : {}),
        ...process.env,
        ...serviceEnv(names, { NODE_ENV: 'production', LOG_LEVEL: 'warn', ...serviceSettings(name, adminKey, port) }),
      };
      const p = launch(name, entry(name), env, port);
      procs.push(p);
      svcProcs.push(p);
      if (name === 'gateway') await Promise.all(svcProcs.map((s) => ready(s)));
    }
    await waitUntil(() => fetch(`http://127.0.0.1:${basePort}/`, { method: 'POST', body: '{}' }).then((r) => r.status === 202), {
      what: 'the baseline server',
    });
    console.log(`all ${services.length} services ready; settling ${SETTLE_S} s`);
    await sleep(SETTLE_S * 1000);
    const idle = new Map<string, number>();
    const samples = new Map<string, number[]>();
    for (let i = 0; i < 5; i++) {
      for (const p of procs) samples.set(p.name, [...(samples.get(p.name) ?? []), rssMiB(p.child.pid)]);
      await sleep(500);
    }
    for (const [name, xs] of samples) idle.set(name, median(xs));

    // The ingest load: a partner with a webhook endpoint subscribed to lead.*, so the dispatcher delivers too.
    const gw = svcProcs.find((p) => p.name === 'gateway') as Proc;
    const base = `http://127.0.0.1:${gw.port}`;
    const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const must = async (path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
      const json = (await r.json()) as { id?: string };
      if (r.status >= 300) throw new Error(`POST ${path} → ${r.status} ${JSON.stringify(json)}`);
      return json;
    };
    const partner = await must('/v1/partners', {
      name: 'Footprint Bench Ltd',
      type: 'technology',
      contact_email: 'bench@footprint.example',
    });
    await must(`/v1/partners/${partner.id}/activate`, {});
    await must('/v1/webhook-endpoints', { partner_id: partner.id, url: receiver.url, event_types: ['lead.*'], description: 'footprint' });
    const run = randomBytes(3).toString('hex');
    const event = (n: number) =>
      `{"specversion":"1.0","id":"foot-${run}-${n}","source":"bench.footprint","type":"lead.created","time":"2026-01-01T00:00:00Z","partnerid":"${partner.id}",` +
      `"data":{"lead_id":"lead-${n}","email":"lead${n}@example.com","first_name":"Ada","last_name":"Lovelace","source":"web"}}`;

    const baseLoad = await peakWhile([baseline], drive(`http://127.0.0.1:${basePort}/`, {}, event));
    console.log(`baseline under load: ${baseLoad.result.ok} requests answered`);
    const svcLoad = await peakWhile(svcProcs, drive(`${base}/v1/events`, { authorization: `Bearer ${adminKey}` }, event));
    console.log(
      `gateway under load: ${svcLoad.result.ok} events accepted (${(svcLoad.result.ok / LOAD_S).toFixed(0)}/s), non-2xx ${svcLoad.result.non2xx}; webhooks received so far ${receiver.received()}`,
    );
    const loaded = new Map([...baseLoad.peak, ...svcLoad.peak]);

    const baseIdle = idle.get(baseline.name) ?? Number.NaN;
    const baseLoaded = loaded.get(baseline.name) ?? Number.NaN;
    const rows = procs.map((p) => {
      const floor = p === baseline ? undefined : p.name === 'gateway' ? GATEWAY_FLOOR_MIB : FLOOR_MIB;
      const i = idle.get(p.name) ?? Number.NaN;
      const l = loaded.get(p.name) ?? Number.NaN;
      return {
        name: p.name,
        idle: i,
        loaded: l,
        idleRatio: i / baseIdle,
        loadedRatio: l / baseLoaded,
        floor,
        ok: floor === undefined || i <= floor,
      };
    });
    const f = (x: number) => x.toFixed(1).padStart(7);
    console.log(
      `\n${'process'.padEnd(24)} ${'idle MiB'.padStart(9)} ${'× base'.padStart(7)} ${'load MiB'.padStart(9)} ${'× base'.padStart(7)}  idle floor`,
    );
    for (const r of rows) {
      console.log(
        `${r.name.padEnd(24)} ${f(r.idle)}   ${r.idleRatio.toFixed(2).padStart(5)} ${f(r.loaded)}   ${r.loadedRatio.toFixed(2).padStart(5)}  ${r.floor === undefined ? '' : `≤ ${r.floor} ${r.ok ? 'ok' : 'OVER'}`}`,
      );
    }
    console.log(
      JSON.stringify({
        bench: 'footprint',
        runtime: RUNTIME,
        node: process.version,
        settle_s: SETTLE_S,
        load_s: LOAD_S,
        connections: CONNECTIONS,
        events_accepted: svcLoad.result.ok,
        baseline: { idle_mib: Math.round(baseIdle), load_mib: Math.round(baseLoaded) },
        services: Object.fromEntries(
          rows
            .filter((r) => r.name !== baseline.name)
            .map((r) => [
              r.name,
              { idle_mib: Math.round(r.idle), load_mib: Math.round(r.loaded), idle_ratio: Number(r.idleRatio.toFixed(2)) },
            ]),
        ),
        floors: { idle_mib: FLOOR_MIB, gateway_idle_mib: GATEWAY_FLOOR_MIB },
        floors_hold: rows.every((r) => r.ok),
      }),
    );
    if (!rows.every((r) => r.ok)) process.exitCode = 1;
  } finally {
    await stopAll();
    await receiver.close();
    await bus.jsm.streams.delete(names.STREAM_NAME).catch((err: Error) => console.error(`deleting ${names.STREAM_NAME}: ${err.message}`));
    await closeBus(bus);
    for (const s of services)
      await dropDatabase(dbUrl(names, s)).catch((err: Error) => console.error(`dropping ${s}'s database: ${err.message}`));
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
