// bench/ingest (`pnpm bench:ingest`): requests/s, events/s and latency of (a) a bare node:http + JetStream
// baseline, (b) the gateway's POST /v1/events with one event (API-key auth + catalog validation) and (c) the
// batch form with BENCH_BATCH events a request. Same load generator (autocannon), same connections and
// duration; each case against its own fresh stream; the servers run as their own processes.
// Ends with one JSON line: baseline_rps, gateway_rps, ratio, batch_events_per_s, gateway_p99_ms, ...
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dropDatabase } from '@pep/db';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { bestEffort, dbUrl, freePort, REPO_ROOT, serviceEnv, spawnService, testNames, waitReady } from '@pep/testing';
import autocannon from 'autocannon';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const run = randomBytes(3).toString('hex');

interface Figures {
  name: string;
  rps: number;
  eventsPerS: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  requests: number;
  stored: number;
}

/** One event body; `n` makes every id unique, so dedupe never short-cuts the work. */
const eventJson = (n: string, i: number) =>
  `{"specversion":"1.0","id":"bench-${run}-${n}-${i}","source":"bench.ingest","type":"lead.created","time":"2026-01-01T00:00:00Z",` +
  `"data":{"lead_id":"lead-${n}-${i}","email":"lead${i}@example.com","first_name":"Ada","last_name":"Lovelace","source":"web"}}`;

function load(url: string, headers: Record<string, string>, body: (n: number) => string, seconds: number) {
  let counter = 0;
  const tag = randomBytes(2).toString('hex');
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    requests: [
      {
        setupRequest: (req) => {
          req.body = body(++counter);
          return req;
        },
      },
    ],
  }).then((r) => ({ r, tag }));
}

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  eventsPerRequest: number,
  body: (prefix: string) => (n: number) => string,
  stored: () => Promise<number>,
): Promise<Figures> {
  // Ids are visible ASCII without spaces (the edge refuses others with 422): the case's name as a slug.
  const slug = name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
  if (WARMUP_S > 0) await load(url, headers, body(`w${slug}`), WARMUP_S);
  const before = await stored();
  const { r } = await load(url, headers, body(`m${slug}`), DURATION_S);
  const ok = r.requests.total - r.non2xx;
  const f: Figures = {
    name,
    rps: r.requests.average,
    eventsPerS: (ok * eventsPerRequest) / (r.duration || DURATION_S),
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    requests: r.requests.total,
    stored: (await stored()) - before,
  };
  console.log(
    `${name.padEnd(22)} ${f.rps.toFixed(0).padStart(7)} req/s ${f.eventsPerS.toFixed(0).padStart(8)} events/s   p50 ${String(f.p50).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms   non-2xx ${f.non2xx}  errors ${f.errors}  stored ${f.stored}`,
  );
  return f;
}

function readyLine(child: ChildProcess, pattern: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      for (const line of out.split('\n')) {
        if (line.includes(pattern)) {
          child.stdout?.off('data', onData);
          resolve(JSON.parse(line).url as string);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${pattern}":\n${out}`)));
  });
}

/** Peak resident set size of a process (VmHWM), in MiB. */
function peakRssMiB(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function freshStream(label: string) {
  const names = testNames(`bench${label}`);
  const bus = await connectBus({ url: NATS_URL, name: `bench-${label}`, stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '1' }),
  );
  return {
    names,
    bus,
    count: async () => (await bus.jsm.streams.info(names.STREAM_NAME)).state.messages,
    async drop() {
      await bestEffort('delete the stream', bus.jsm.streams.delete(names.STREAM_NAME));
      await closeBus(bus);
    },
  };
}

async function withGateway<T>(
  label: string,
  fn: (url: string, key: string, stored: () => Promise<number>) => Promise<T>,
): Promise<{ result: T; peakRss: number }> {
  const s = await freshStream(label);
  const key = `sk_admin_${randomBytes(18).toString('hex')}`;
  const port = await freePort();
  const proc = spawnService(
    'gateway',
    serviceEnv(s.names, {
      GATEWAY_PORT: String(port),
      PLATFORM_ADMIN_API_KEY: key,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      STREAM_MAX_AGE_HOURS: '1',
    }),
  );
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitReady(`${url}/readyz`, proc);
    const result = await fn(`${url}/v1/events`, key, s.count);
    return { result, peakRss: peakRssMiB(proc.child.pid) };
  } finally {
    await proc.stop('SIGTERM');
    await s.drop();
    await bestEffort('drop database gateway', dropDatabase(dbUrl(s.names, 'gateway')));
  }
}

async function main() {
  console.log(
    `bench/ingest: ${CONNECTIONS} connections, ${DURATION_S} s per case (+${WARMUP_S} s warm-up), batch of ${BATCH}; node ${process.version}`,
  );

  // (a) baseline
  const base = await freshStream('base');
  const subject = `${base.names.SUBJECT_PREFIX}.ext._.lead.created`;
  const baselineProc = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/ingest/baseline-server.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, BASELINE_PORT: '0', BASELINE_SUBJECT: subject, NATS_URL },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let baseline: Figures;
  try {
    const url = await readyLine(baselineProc, 'baseline listening');
    baseline = await measure('(a) baseline node:http', url, {}, 1, (p) => (n) => eventJson(p, n), base.count);
  } finally {
    baselineProc.kill('SIGTERM');
    await base.drop();
  }

  // (b) gateway, one event a request
  const single = await withGateway('single', (url, key, stored) =>
    measure('(b) gateway 1 event', url, { authorization: `Bearer ${key}` }, 1, (p) => (n) => eventJson(p, n), stored),
  );
  // (c) gateway, BATCH events a request
  const batch = await withGateway('batch', (url, key, stored) =>
    measure(
      `(c) gateway ${BATCH}-batch`,
      url,
      { authorization: `Bearer ${key}` },
      BATCH,
      (p) => (n) => {
        const parts: string[] = new Array(BATCH);
        for (let i = 0; i < BATCH; i++) parts[i] = eventJson(`${p}-${n}`, i);
        return `[${parts.join(',')}]`;
      },
      stored,
    ),
  );

  const peak = Math.max(single.peakRss, batch.peakRss);
  console.log(`gateway peak RSS: ${single.peakRss.toFixed(0)} MiB (single), ${batch.peakRss.toFixed(0)} MiB (batch)`);
  const g = single.result;
  const b = batch.result;
  const summary = {
    bench: 'ingest',
    connections: CONNECTIONS,
    duration_s: DURATION_S,
    batch_size: BATCH,
    baseline_rps: Math.round(baseline.rps),
    baseline_p50_ms: baseline.p50,
    baseline_p99_ms: baseline.p99,
    gateway_rps: Math.round(g.rps),
    gateway_events_per_s: Math.round(g.eventsPerS),
    gateway_p50_ms: g.p50,
    gateway_p99_ms: g.p99,
    ratio: Number((g.rps / baseline.rps).toFixed(3)),
    batch_rps: Math.round(b.rps),
    batch_events_per_s: Math.round(b.eventsPerS),
    batch_p50_ms: b.p50,
    batch_p99_ms: b.p99,
    gateway_peak_rss_mib: Math.round(peak),
    non2xx: { baseline: baseline.non2xx, gateway: g.non2xx, batch: b.non2xx },
    errors: { baseline: baseline.errors, gateway: g.errors, batch: b.errors },
    floors: { ratio: 0.7, batch_events_per_s: 15_000 },
  };
  console.log(JSON.stringify(summary));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
