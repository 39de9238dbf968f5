// bench/dispatch (`pnpm bench:dispatch`), issue 3 items 7 and 11. One run measures:
//  (a) baseline: a bare JetStream consumer (in this process) that signs each message (Standard Webhooks) and
//      POSTs it with undici to a loopback receiver;
//  (b) the webhook dispatcher with 1 and with 2 replicas (real processes): a burst of published events →
//      received (deliveries/s);
//  (c) end-to-end latency at a fixed offered load (1,000 events/s): events POSTed to a real gateway process
//      (POST /v1/events, admin key); "accepted" is the moment the gateway's 202 reaches the client, "received"
//      the moment the receiver has the delivery. The same load published straight to JetStream is measured
//      too (publish call → received), so the gateway's own share is visible;
//  (m) mapped deliveries: one dispatcher delivering the same bursts to one endpoint unmapped and then with a
//      typical integration field mapping (JSONata), alternating, in the same run (`mapped_ratio`, floor 0.8);
//  (d) fairness: p99 latency of a healthy endpoint while another endpoint that never answers (every attempt
//      times out) has 10,000 deliveries queued, in short rounds alternating with that endpoint disabled.
// Each case gets its own fresh stream and database. Between phases the bench waits until the dispatcher has
// recorded every delivery, so one phase's tail does not land in the next one's figures.
// Ends with one JSON line: baseline_dps, dispatcher_dps, ratio, e2e_p50_ms, e2e_p99_ms, fairness_p99_ratio, ...
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { PlatformEvent, Principal } from '@pep/contracts';
import { createDb, dropDatabase } from '@pep/db';
import {
  aggregateSubject,
  closeBus,
  connectBus,
  type EventBus,
  ensureStream,
  externalSubject,
  publishEvent,
  StreamSettingsSchema,
} from '@pep/events';
import { newId } from '@pep/runtime';
import {
  bestEffort,
  dbUrl,
  freePort,
  partnerPrincipal,
  type ServiceProcess,
  serviceEnv,
  serviceRpc,
  spawnService,
  startReceiver,
  type TestNames,
  testNames,
  waitReady,
} from '@pep/testing';
import { generateSecret, signWebhook } from '@pep/webhooks';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { sql } from 'kysely';
import { Agent, request } from 'undici';
/** A typical mapping: rename, nest, concatenate, use an envelope attribute. */
import { BENCH_MAPPING, mappingCpu } from './mapping-cpu.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const LATENCY_S = Number(process.env.BENCH_LATENCY_S ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const FAIR_BACKLOG = Number(process.env.BENCH_FAIR_BACKLOG ?? 10_000);
const FAIR_N = Number(process.env.BENCH_FAIR_N ?? 500);
const FAIR_RATE = Number(process.env.BENCH_FAIR_RATE ?? 200);
/** Rounds of (bad endpoint disabled, bad endpoint enabled) the fairness figures pool. */
const FAIR_ROUNDS = Number(process.env.BENCH_FAIR_ROUNDS ?? 20);
/** Which phases to run (all by default): baseline, 1, 2, mapped, fairness. */
const CASES = new Set((process.env.BENCH_CASES ?? 'baseline,1,2,mapped,fairness').split(','));
/** Alternating (unmapped, mapped) burst pairs of the mapped case. */
const MAPPED_ROUNDS = Number(process.env.BENCH_MAPPED_ROUNDS ?? 2);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const PARTNER = 'prt_bench';
const SECRET_KEY = randomBytes(32).toString('hex');
const ADMIN_KEY = `sk_admin_${randomBytes(18).toString('hex')}`;
type Rpc = ReturnType<typeof serviceRpc>;
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

// ------------------------------------------------------------------ receivers (loopback, count by webhook-id)
/**
 * The bench's view of the shared loopback receiver: first arrival per webhook-id (performance.now()), and
 * `hang`: never answers (every attempt times out), counting the connections it holds open.
 */
async function benchReceiver(opts: { hang?: boolean } = {}) {
  const r = await startReceiver({ keep: false });
  const seen = new Map<string, number>();
  let onReceive: ((eventId: string, at: number) => void) | null = null;
  let open = 0;
  let maxOpen = 0;
  let requests = 0;
  let lastBody = '';
  r.setRespond((x, res) => {
    const at = performance.now();
    if (opts.hang) {
      requests++;
      open++;
      maxOpen = Math.max(maxOpen, open);
      res.on('close', () => open--);
      return;
    }
    lastBody = x.body;
    if (!seen.has(x.id)) {
      seen.set(x.id, at);
      const m = /"id":"([^"]+)"/.exec(x.body);
      if (m && onReceive) onReceive(m[1] as string, at);
    }
    res.statusCode = 204;
    res.end();
  });
  return {
    url: r.url,
    seen,
    maxOpen: () => maxOpen,
    lastBody: () => lastBody,
    requests: () => requests,
    onReceive(fn: ((eventId: string, at: number) => void) | null) {
      onReceive = fn;
    },
    close: r.close,
  };
}
const receiver = await benchReceiver();

function event(i: number, tag: string, partner = PARTNER): PlatformEvent {
  return {
    specversion: '1.0',
    id: `bench-${tag}-${i}`,
    source: 'bench.dispatch',
    type: 'lead.created',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    partnerid: partner,
    data: { lead_id: `lead-${i}`, email: `lead${i}@example.com`, first_name: 'Ada', last_name: 'Lovelace', source: 'web' },
  };
}

async function world(label: string) {
  const names = testNames(label);
  const bus = await connectBus({ url: NATS_URL, name: `bench-${names.id}`, stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '1' }),
  );
  const rpc = serviceRpc(bus.nc, names, 'webhook-dispatcher');
  return {
    names,
    bus,
    rpc,
    async close() {
      await bestEffort('delete the stream', bus.jsm.streams.delete(names.STREAM_NAME));
      await closeBus(bus);
      await bestEffort('drop database webhook-dispatcher', dropDatabase(dbUrl(names, 'webhook-dispatcher')));
      await bestEffort('drop database gateway', dropDatabase(dbUrl(names, 'gateway')));
    },
  };
}

/** Publishes `n` events as fast as JetStream acks them (256 in flight). */
async function publishBurst(bus: EventBus, n: number, tag: string, partner = PARTNER): Promise<void> {
  const subject = externalSubject(bus.prefix, partner, 'lead.created');
  let next = 0;
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < n) {
        const i = next++;
        await publishEvent(bus, subject, event(i, tag, partner));
      }
    }),
  );
}

/** Deliveries/s: from the first publish to the last of `n` received. */
async function throughput(bus: EventBus, tag: string): Promise<number> {
  receiver.seen.clear();
  const t0 = performance.now();
  await publishBurst(bus, EVENTS, tag);
  while (receiver.seen.size < EVENTS) {
    if (performance.now() - t0 > 300_000) throw new Error(`only ${receiver.seen.size}/${EVENTS} delivered in 300 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const last = Math.max(...receiver.seen.values());
  return Math.round(EVENTS / ((last - t0) / 1000));
}

const quantile = (sorted: number[], p: number) =>
  Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN) * 10) / 10;

// ------------------------------------------------------------------ (a) baseline
async function baseline(): Promise<number> {
  const w = await world('bdb');
  const secret = generateSecret();
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  await w.bus.jsm.consumers.add(w.names.STREAM_NAME, {
    durable_name: 'baseline',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: `${w.names.SUBJECT_PREFIX}.>`,
    max_ack_pending: 10_000,
  });
  const consumer = await w.bus.js.consumers.get(w.names.STREAM_NAME, 'baseline');
  const messages = await consumer.consume({ max_messages: 1000 });
  let inFlight = 0;
  const dec = new TextDecoder();
  const loop = (async () => {
    for await (const m of messages) {
      while (inFlight >= CONCURRENCY) await new Promise((r) => setImmediate(r));
      inFlight++;
      const body = dec.decode(m.data);
      const id = `msg_${m.seq}`;
      void request(receiver.url, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', ...signWebhook({ id, timestamp: new Date(), body, secrets: [secret] }) },
        body,
      })
        .then(async (res) => {
          await res.body.dump();
          m.ack();
        })
        .catch(() => m.nak())
        .finally(() => inFlight--);
    }
  })();
  const dps = await throughput(w.bus, 'base');
  messages.stop();
  await bestEffort('the baseline consume loop', loop);
  await agent.close();
  await w.close();
  return dps;
}

// ------------------------------------------------------------------ the dispatcher
async function startDispatchers(names: TestNames, replicas: number, extra: Record<string, string> = {}) {
  const procs: { proc: ServiceProcess; url: string }[] = [];
  for (let i = 0; i < replicas; i++) {
    const port = await freePort();
    const proc = spawnService(
      'webhook-dispatcher',
      serviceEnv(names, {
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        HEALTH_PORT: String(port),
        WEBHOOK_SECRET_KEY: SECRET_KEY,
        WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8',
        WEBHOOK_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
        // Like the baseline (which has no timeout and naks on error): an attempt that is only slow because
        // the shared machine is busy should not wait out the production retry schedule (2 min and more).
        WEBHOOK_DEFAULT_TIMEOUT_MS: '10000',
        WEBHOOK_RETRY_DELAYS_MS: '200,500,1000,2000',
        STREAM_MAX_AGE_HOURS: '1',
        // BENCH_PROFILE_DIR=/tmp/prof writes a V8 CPU profile of each dispatcher process there.
        ...(process.env.BENCH_PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}` } : {}),
        ...extra,
      }),
    );
    await waitReady(`http://127.0.0.1:${port}/readyz`, proc);
    procs.push({ proc, url: `http://127.0.0.1:${port}` });
  }
  return procs;
}

async function startGateway(names: TestNames) {
  const port = await freePort();
  const proc = spawnService(
    'gateway',
    serviceEnv(names, {
      GATEWAY_PORT: String(port),
      PLATFORM_ADMIN_API_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      STREAM_MAX_AGE_HOURS: '1',
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, proc);
  return { proc, url };
}

/** Registers an endpoint over the service's RPC, as the gateway would. */
async function createEndpoint(rpc: Rpc, owner: string, url: string, extra: Record<string, unknown> = {}) {
  return rpc.ok<{ id: string }>('endpoints.create', partner(owner), { body: { url, event_types: ['lead.*'], ...extra } });
}

/** PATCHes an endpoint's `enabled` over the service's RPC and waits for the answer. */
async function setEnabled(rpc: Rpc, owner: string, id: string, enabled: boolean) {
  await rpc.ok('endpoints.update', partner(owner), { params: { id }, body: { enabled } });
}

/** The endpoint owner's key as the gateway forwards it (webhook scopes). */
const partner = (id: string): Principal => partnerPrincipal(id, ['read:webhooks', 'write:webhooks']);

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds used so far by every nats-server and every postgres process on this machine (Linux /proc). */
function serverCpu(): { nats: number; postgres: number } {
  const out = { nats: 0, postgres: 0 };
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      const key = comm === 'nats-server' ? 'nats' : comm === 'postgres' ? 'postgres' : null;
      if (key) out[key] += cpuSeconds(Number(pid));
    } catch {
      // the process ended
    }
  }
  return out;
}

async function metricsText(url: string) {
  return (await fetch(`${url}/metrics`)).text();
}

/** Waits until no delivery is pending any more (every attempt recorded), so phases do not overlap. */
async function settle(urls: string[], timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const texts = await Promise.all(urls.map(metricsText));
    const value = (text: string, metric: string) => Number(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0);
    // Pending rows are counted from the database (all replicas); held deliveries per process.
    if (value(texts[0] as string, 'webhook_pending_deliveries') === 0 && texts.every((t) => value(t, 'webhook_held_deliveries') === 0))
      return;
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log('  (the dispatcher still had pending deliveries when the next phase started)');
}

/** Cumulative buckets of one of the dispatcher's histograms (optionally one label value). */
function delayBuckets(text: string, metric = 'webhook_dispatch_delay_seconds', label?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`^${metric}_bucket\\{([^}]*)\\} (\\S+)`, 'gm'))) {
    if (label && !(m[1] as string).includes(label)) continue;
    const le = /le="([^"]+)"/.exec(m[1] as string)?.[1];
    if (le) out.set(le, Number(m[2]));
  }
  return out;
}
/** "≤ X ms" for a quantile of the difference of two bucket snapshots (bucket upper bound). */
function bucketQuantile(before: Map<string, number>, after: Map<string, number>, q: number): string {
  const les = [...after.keys()];
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  if (total <= 0) return 'n/a';
  for (const le of les) {
    const n = (after.get(le) ?? 0) - (before.get(le) ?? 0);
    if (n >= total * q) return le === '+Inf' ? '> 5000' : `<= ${Number(le) * 1000}`;
  }
  return 'n/a';
}

/** Offers RATE events/s for LATENCY_S seconds on a 10 ms tick, via `send`, and collects accepted → received. */
async function offeredLoad(
  tag: string,
  send: (ev: PlatformEvent) => Promise<void>,
): Promise<{ p50: number; p99: number; n: number; lost: number; sendErrors: number }> {
  receiver.seen.clear();
  const acceptedAt = new Map<string, number>();
  const receivedAt = new Map<string, number>();
  receiver.onReceive((id, at) => receivedAt.set(id, at));
  const total = RATE * LATENCY_S;
  const perTick = RATE / 100;
  const start = performance.now();
  let sendErrors = 0;
  const sends: Promise<void>[] = [];
  let i = 0;
  while (i < total) {
    const due = start + (i / RATE) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < perTick && i < total; k++, i++) {
      const ev = event(i, tag);
      sends.push(
        send(ev).then(
          () => {
            acceptedAt.set(ev.id, performance.now());
          },
          () => {
            sendErrors++;
          },
        ),
      );
    }
  }
  await Promise.all(sends);
  const deadline = performance.now() + 120_000;
  while (receivedAt.size < acceptedAt.size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  receiver.onReceive(null);
  const lat: number[] = [];
  for (const [id, acc] of acceptedAt) {
    const rcv = receivedAt.get(id);
    // The delivery can reach the receiver before the 202 reaches the client (same process): that is 0.
    if (rcv !== undefined) lat.push(Math.max(0, rcv - acc));
  }
  lat.sort((a, b) => a - b);
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), n: lat.length, lost: acceptedAt.size - lat.length, sendErrors };
}

async function dispatcherCase(replicas: number, withDirect: boolean) {
  const w = await world(`bd${replicas}`);
  const procs = await startDispatchers(w.names, replicas);
  const gateway = await startGateway(w.names);
  await createEndpoint(w.rpc, PARTNER, receiver.url);
  const burstCpu0 = { d: procs.map((p) => cpuSeconds(p.proc.child.pid)), s: serverCpu(), b: process.cpuUsage(), t: performance.now() };
  const dps = await throughput(w.bus, `r${replicas}`);
  const burstWall = (performance.now() - burstCpu0.t) / 1000;
  const burstServers = serverCpu();
  const pct = (sec: number) => `${Math.round((sec / burstWall) * 100)}%`;
  console.log(`  dispatcher, ${replicas} replica(s): ${dps} deliveries/s (burst of ${EVENTS}); load ${load().join(' ')}`);
  console.log(
    `  CPU during the burst (${burstWall.toFixed(1)} s): dispatcher ${procs.map((p, i) => pct(cpuSeconds(p.proc.child.pid) - (burstCpu0.d[i] as number))).join(' + ')}, ` +
      `bench ${pct((process.cpuUsage(burstCpu0.b).user + process.cpuUsage(burstCpu0.b).system) / 1e6)}, ` +
      `nats-server ${pct(burstServers.nats - burstCpu0.s.nats)}, postgres ${pct(burstServers.postgres - burstCpu0.s.postgres)} of one core`,
  );
  await settle(procs.map((p) => p.url));

  // Through the gateway: POST /v1/events with the admin key naming the partner.
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });
  const viaGateway = async (ev: PlatformEvent) => {
    const res = await request(`${gateway.url}/v1/events`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify(ev),
    });
    await res.body.dump();
    if (res.statusCode !== 202 && res.statusCode !== 200 && res.statusCode !== 201) throw new Error(`gateway answered ${res.statusCode}`);
  };
  const loadGw = load();
  const before = await Promise.all(procs.map((p) => metricsText(p.url)));
  const cpu0 = { d: procs.map((p) => cpuSeconds(p.proc.child.pid)), g: cpuSeconds(gateway.proc.child.pid), b: process.cpuUsage() };
  const t0 = performance.now();
  const gw = await offeredLoad(`gw${replicas}`, viaGateway);
  const wall = (performance.now() - t0) / 1000;
  const busy = (a: number, b: number) => `${Math.round(((b - a) / wall) * 100)}%`;
  const b1 = process.cpuUsage(cpu0.b);
  console.log(
    `  CPU during the gateway phase (${wall.toFixed(1)} s): dispatcher ${procs.map((p, i) => busy(cpu0.d[i] as number, cpuSeconds(p.proc.child.pid))).join(' + ')}, ` +
      `gateway ${busy(cpu0.g, cpuSeconds(gateway.proc.child.pid))}, bench ${busy(0, (b1.user + b1.system) / 1e6)} of one core`,
  );
  const after = await Promise.all(procs.map((p) => metricsText(p.url)));
  const delay = {
    p50: bucketQuantile(delayBuckets(before[0] as string), delayBuckets(after[0] as string), 0.5),
    p99: bucketQuantile(delayBuckets(before[0] as string), delayBuckets(after[0] as string), 0.99),
  };
  const stages = ['consumer', 'queued', 'handoff'].map((st) => {
    const b = delayBuckets(before[0] as string, 'webhook_intake_stage_seconds', `stage="${st}"`);
    const a = delayBuckets(after[0] as string, 'webhook_intake_stage_seconds', `stage="${st}"`);
    return `${st} p50 ${bucketQuantile(b, a, 0.5)} / p99 ${bucketQuantile(b, a, 0.99)} ms`;
  });
  console.log(`  intake stages per batch (replica 1, gateway phase): ${stages.join('; ')}`);
  await settle(procs.map((p) => p.url));
  await agent.close();

  let direct: Awaited<ReturnType<typeof offeredLoad>> | undefined;
  if (withDirect) {
    const subject = externalSubject(w.bus.prefix, PARTNER, 'lead.created');
    // Published straight to JetStream: "accepted" is the JetStream ack (what the gateway waits for before 202).
    direct = await offeredLoad(`js${replicas}`, (ev) => publishEvent(w.bus, subject, ev).then(() => undefined));
    await settle(procs.map((p) => p.url));
  }
  await gateway.proc.stop('SIGTERM');
  for (const p of procs) await p.proc.stop('SIGTERM');
  await w.close();
  return { dps, gw, direct, delay, loadGw };
}

// ------------------------------------------------------------------ (d) fairness
async function fairness() {
  const w = await world('bdf');
  const [svc] = await startDispatchers(w.names, 1, {
    WEBHOOK_ENDPOINT_CONCURRENCY: '16',
    WEBHOOK_RETRY_DELAYS_MS: '1000,2000',
    WEBHOOK_BREAKER_OPEN_MS: '2000',
  });
  const healthy = await benchReceiver();
  const bad = await benchReceiver({ hang: true });
  await createEndpoint(w.rpc, 'prt_good', healthy.url);
  const badEp = await createEndpoint(w.rpc, 'prt_bad', bad.url, { timeout_ms: 500 });
  const subject = externalSubject(w.bus.prefix, 'prt_good', 'lead.created');

  const healthyRun = async (tag: string, n: number) => {
    const sentAt = new Map<string, number>();
    const lat: number[] = [];
    healthy.onReceive((id, at) => {
      const s = sentAt.get(id);
      if (s !== undefined) lat.push(at - s);
    });
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const due = start + (i / FAIR_RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const ev = event(i, tag, 'prt_good');
      sentAt.set(ev.id, performance.now());
      void publishEvent(w.bus, subject, ev);
    }
    const deadline = performance.now() + 60_000;
    while (lat.length < n && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    healthy.onReceive(null);
    return lat.sort((a, b) => a - b);
  };

  await healthyRun('warm', 200);
  const before = await healthyRun('before', FAIR_N);
  await publishBurst(w.bus, FAIR_BACKLOG, 'badq', 'prt_bad');
  const db = createDb<Record<string, never>>(dbUrl(w.names, 'webhook-dispatcher'), { max: 1 });
  const queued = async () =>
    (await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where endpoint_id = ${badEp.id}`.execute(db)).rows[0]?.n ??
    0;
  const deadline = Date.now() + 120_000;
  while ((await queued()) < FAIR_BACKLOG && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  // Steady state: the bad endpoint's circuit has opened and the intake burst is over.
  const open = new RegExp(`webhook_circuit_state\\{[^}]*endpoint_id="${badEp.id}"[^}]*\\} 2`);
  const openBy = Date.now() + 30_000;
  while (!open.test(await metricsText(svc?.url as string)) && Date.now() < openBy) await new Promise((r) => setTimeout(r, 100));
  await healthyRun('settle', 200);

  // Short rounds alternate between the bad endpoint disabled (its deliveries wait untouched: the healthy
  // endpoint is alone in what the dispatcher does) and enabled (every attempt it gets times out), so what
  // this shared machine does at some moment (a major GC, autovacuum, another process) lands in both columns
  // alike; the figures pool every round's samples (a p99 of 500 samples alone is too noisy to compare).
  const alone: number[] = [];
  const withBad: number[] = [];
  const badRequests = { alone: 0, with: 0 };
  for (let r = 0; r < FAIR_ROUNDS; r++) {
    await setEnabled(w.rpc, 'prt_bad', badEp.id, false);
    await healthyRun(`s${r}a`, 20);
    let n0 = bad.requests();
    const a = await healthyRun(`a${r}`, FAIR_N);
    badRequests.alone += bad.requests() - n0;
    await setEnabled(w.rpc, 'prt_bad', badEp.id, true);
    await healthyRun(`s${r}b`, 20);
    n0 = bad.requests();
    const b = await healthyRun(`b${r}`, FAIR_N);
    badRequests.with += bad.requests() - n0;
    alone.push(...a);
    withBad.push(...b);
  }
  alone.sort((x, y) => x - y);
  withBad.sort((x, y) => x - y);
  const pending = (
    await sql<{
      n: number;
    }>`select count(*)::int as n from webhook_deliveries where endpoint_id = ${badEp.id} and status = 'pending'`.execute(db)
  ).rows[0]?.n;
  await db.destroy();
  await svc?.proc.stop('SIGTERM');
  await healthy.close();
  await bad.close();
  await w.close();
  const p99Without = quantile(alone, 0.99);
  const p99With = quantile(withBad, 0.99);
  return {
    p99Before: quantile(
      before.sort((x, y) => x - y),
      0.99,
    ),
    p99Without,
    p99With,
    ratio: Math.round((p99With / p99Without) * 100) / 100,
    p50Without: quantile(alone, 0.5),
    p50With: quantile(withBad, 0.5),
    badRequests,
    badPending: pending ?? 0,
    badMaxOpen: bad.maxOpen(),
    n: [alone.length, withBad.length],
  };
}

// ------------------------------------------------------------------ (m) mapped beside unmapped
/** Appends an integration event as partner-registry does (the dispatcher learns mappings from the stream). */
async function integrationEvent(bus: EventBus, integrationId: string, type: string, data: Record<string, unknown>) {
  await publishEvent(bus, aggregateSubject(bus.prefix, 'integration', integrationId), {
    specversion: '1.0',
    id: `bench-int-${type}-${randomBytes(4).toString('hex')}`,
    source: 'urn:pep:partner-registry',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    partnerid: PARTNER,
    data: { integration_id: integrationId, ...data },
  });
}

async function mappedCase() {
  const w = await world('bdm');
  const procs = await startDispatchers(w.names, 1, { WEBHOOK_MAPPING_REFRESH_MS: '100' });
  const integrationId = newId('int');
  await integrationEvent(w.bus, integrationId, 'integration.connected', {
    application_id: newId('app'),
    customer_id: 'cus_bench',
    scopes: [],
    connected_by: 'bench',
    connected_at: new Date().toISOString(),
  });
  await integrationEvent(w.bus, integrationId, 'integration.mapping_set', {
    event_type: 'lead.*',
    version: 1,
    expression: BENCH_MAPPING,
    set_by: 'bench',
    set_at: new Date().toISOString(),
  });
  const ep = await createEndpoint(w.rpc, PARTNER, receiver.url);
  /** Links (or unlinks) the endpoint and waits until a delivery shows the mapping in (or out of) effect. */
  const link = async (on: boolean) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await w.rpc.call('endpoints.update', partner(PARTNER), {
        params: { id: ep.id },
        body: { integration_id: on ? integrationId : null },
      });
      if (r.ok) break;
      if (Date.now() > deadline) throw new Error(`linking the integration failed: ${JSON.stringify(r.problem)}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    for (let i = 0; ; i++) {
      await publishBurst(w.bus, 1, `probe-${on}-${i}`);
      await new Promise((res) => setTimeout(res, 100));
      if (receiver.lastBody().includes('"contact"') === on) break;
      if (Date.now() > deadline) throw new Error(`the mapping did not come ${on ? 'into' : 'out of'} effect`);
    }
    await settle(procs.map((p) => p.url));
  };
  const unmapped: number[] = [];
  const mapped: number[] = [];
  for (let round = 0; round < MAPPED_ROUNDS; round++) {
    await link(false);
    unmapped.push(await throughput(w.bus, `u${round}`));
    await settle(procs.map((p) => p.url));
    await link(true);
    mapped.push(await throughput(w.bus, `m${round}`));
    await settle(procs.map((p) => p.url));
    console.log(
      `  round ${round + 1}: unmapped ${unmapped[round]} deliveries/s, mapped ${mapped[round]} deliveries/s; load ${load().join(' ')}`,
    );
  }
  for (const p of procs) await p.proc.stop();
  await w.close();
  const best = (xs: number[]) => Math.max(...xs);
  return { unmapped: best(unmapped), mapped: best(mapped), ratio: Math.round((best(mapped) / best(unmapped)) * 100) / 100 };
}

// ------------------------------------------------------------------ run
console.log(`bench/dispatch: ${EVENTS} events a burst, ${RATE} events/s for ${LATENCY_S} s; load average ${load().join(' ')}`);
const skipped = {
  dps: Number.NaN,
  gw: { p50: Number.NaN, p99: Number.NaN, n: 0, lost: 0, sendErrors: 0 },
  direct: undefined,
  delay: { p50: 'n/a', p99: 'n/a' },
  loadGw: [] as number[],
};
const baselineDps = CASES.has('baseline') ? await baseline() : Number.NaN;
console.log(`baseline (bare consumer + sign + undici): ${baselineDps} deliveries/s`);
const one = CASES.has('1') ? await dispatcherCase(1, true) : skipped;
console.log(
  `dispatcher, 1 replica: ${one.dps} deliveries/s; e2e at ${RATE}/s, gateway 202 → received: p50 ${one.gw.p50} ms, p99 ${one.gw.p99} ms ` +
    `(${one.gw.n} events, ${one.gw.lost} missing, ${one.gw.sendErrors} refused; load ${one.loadGw.join(' ')}); ` +
    `stream → first attempt p50 ${one.delay.p50} ms, p99 ${one.delay.p99} ms; ` +
    `JetStream ack → received: p50 ${one.direct?.p50} ms, p99 ${one.direct?.p99} ms`,
);
const two = CASES.has('2') ? await dispatcherCase(2, false) : skipped;
console.log(
  `dispatcher, 2 replicas: ${two.dps} deliveries/s; e2e at ${RATE}/s, gateway 202 → received: p50 ${two.gw.p50} ms, p99 ${two.gw.p99} ms ` +
    `(${two.gw.n} events, ${two.gw.lost} missing; load ${two.loadGw.join(' ')})`,
);
const mappedRun = CASES.has('mapped') ? await mappedCase() : undefined;
// CPU per evaluation of the same mapping (fast path vs JSONata alone): what the mapped case adds per delivery.
const cpu = CASES.has('mapped') ? await mappingCpu() : undefined;
if (mappedRun) {
  console.log(
    `mapped deliveries (1 replica, best of ${MAPPED_ROUNDS} alternating bursts): unmapped ${mappedRun.unmapped} deliveries/s, ` +
      `mapped ${mappedRun.mapped} deliveries/s: ratio ${mappedRun.ratio} (floor 0.8); ` +
      `one evaluation ${cpu?.mapping_cpu_us} µs CPU (fast path ${cpu?.fast_path}; JSONata alone ${cpu?.jsonata_cpu_us} µs)`,
  );
}
const fair = CASES.has('fairness') ? await fairness() : undefined;
if (fair) {
  console.log(
    `fairness: healthy endpoint p99 ${fair.p99Without} ms with the bad endpoint disabled, ${fair.p99With} ms with it enabled ` +
      `(every attempt times out; ${fair.badPending} deliveries pending, at most ${fair.badMaxOpen} of its requests open at once): ` +
      `ratio ${fair.ratio} over ${FAIR_ROUNDS} alternating rounds of ${FAIR_N} (${fair.n.join(' / ')} samples; p50 ${fair.p50Without} → ` +
      `${fair.p50With} ms); ` +
      `bad endpoint requests ${fair.badRequests.alone} while disabled, ${fair.badRequests.with} while enabled; ` +
      `before any backlog existed: p99 ${fair.p99Before} ms`,
  );
}
receiver.close();

const dispatcherDps = Math.max(...[one.dps, two.dps].filter((x) => !Number.isNaN(x)));
console.log(
  JSON.stringify({
    baseline_dps: baselineDps,
    dispatcher_dps: dispatcherDps,
    dispatcher_1r_dps: one.dps,
    dispatcher_2r_dps: two.dps,
    ratio: Math.round((dispatcherDps / baselineDps) * 100) / 100,
    e2e_p50_ms: one.gw.p50,
    e2e_p99_ms: one.gw.p99,
    e2e_2r_p50_ms: two.gw.p50,
    e2e_2r_p99_ms: two.gw.p99,
    e2e_direct_p50_ms: one.direct?.p50,
    e2e_direct_p99_ms: one.direct?.p99,
    stream_to_attempt_p99_ms: one.delay.p99,
    unmapped_dps: mappedRun?.unmapped,
    mapped_dps: mappedRun?.mapped,
    mapped_ratio: mappedRun?.ratio,
    mapping_cpu_us: cpu?.mapping_cpu_us,
    mapping_jsonata_cpu_us: cpu?.jsonata_cpu_us,
    fairness_p99_without_ms: fair?.p99Without,
    fairness_p99_with_ms: fair?.p99With,
    fairness_p99_ratio: fair?.ratio,
    fairness_p99_before_backlog_ms: fair?.p99Before,
    fairness_bad_pending: fair?.badPending,
    offered_rate: RATE,
    events: EVENTS,
    accepted_at: 'gateway-202',
    loadavg: load(),
  }),
);
process.exit(0);
