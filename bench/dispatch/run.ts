// bench/dispatch (`pnpm bench:dispatch`), issue 3 item 11. One run measures:
//  (a) baseline: a bare JetStream consumer (in this process) that signs each message (Standard Webhooks) and
//      POSTs it with undici to a loopback receiver;
//  (b) the webhook dispatcher with 1 and with 2 replicas (real processes): published events → received;
//  (c) end-to-end latency (event accepted → received by the receiver) at a fixed offered load (1,000 events/s).
// Each case gets its own fresh stream and database. "Accepted" is the JetStream publish of the event (the
// step at which the gateway answers 202); events are published straight to JetStream, not through a gateway
// process, so the figure excludes the gateway's HTTP hop.
// Ends with one JSON line: baseline_dps, dispatcher_dps, ratio, e2e_p50_ms, e2e_p99_ms, ...
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PlatformEvent } from '@pep/contracts';
import { dropDatabase } from '@pep/db';
import { closeBus, connectBus, type EventBus, ensureStream, externalSubject, publishEvent, StreamSettingsSchema } from '@pep/events';
import { dbUrl, freePort, serviceEnv, spawnService, type TestNames, testNames, waitReady } from '@pep/testing';
import { generateSecret, signWebhook } from '@pep/webhooks';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { Agent, request } from 'undici';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const LATENCY_S = Number(process.env.BENCH_LATENCY_S ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const PARTNER = 'prt_bench';
const SECRET_KEY = randomBytes(32).toString('hex');

// ------------------------------------------------------------------ receiver (loopback, counts by webhook-id)
const seen = new Map<string, number>();
let onReceive: ((eventId: string, at: number) => void) | null = null;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = performance.now();
    const id = String(req.headers['webhook-id'] ?? '');
    if (!seen.has(id)) {
      seen.set(id, at);
      const body = Buffer.concat(chunks).toString('utf8');
      const m = /"id":"([^"]+)"/.exec(body);
      if (m && onReceive) onReceive(m[1] as string, at);
    }
    res.statusCode = 204;
    res.end();
  });
});
receiver.keepAliveTimeout = 60_000;
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

function event(i: number, tag: string): PlatformEvent {
  return {
    specversion: '1.0',
    id: `bench-${tag}-${i}`,
    source: 'bench.dispatch',
    type: 'lead.created',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    partnerid: PARTNER,
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
  return {
    names,
    bus,
    async close() {
      await bus.jsm.streams.delete(names.STREAM_NAME).catch(() => undefined);
      await closeBus(bus);
      await dropDatabase(dbUrl(names, 'webhook-dispatcher')).catch(() => undefined);
    },
  };
}

/** Publishes `n` events as fast as JetStream acks them (256 in flight); resolves with the ids. */
async function publishBurst(bus: EventBus, n: number, tag: string): Promise<void> {
  const subject = externalSubject(bus.prefix, PARTNER, 'lead.created');
  let next = 0;
  await Promise.all(
    Array.from({ length: 256 }, async () => {
      while (next < n) {
        const i = next++;
        await publishEvent(bus, subject, event(i, tag));
      }
    }),
  );
}

/** Deliveries/s: from the first publish to the last of `n` received. */
async function throughput(bus: EventBus, tag: string): Promise<number> {
  seen.clear();
  const t0 = performance.now();
  await publishBurst(bus, EVENTS, tag);
  while (seen.size < EVENTS) {
    if (performance.now() - t0 > 180_000) throw new Error(`only ${seen.size}/${EVENTS} delivered in 180 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const last = Math.max(...seen.values());
  return Math.round(EVENTS / ((last - t0) / 1000));
}

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
      void request(receiverUrl, {
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
  await loop.catch(() => undefined);
  await agent.close();
  await w.close();
  return dps;
}

// ------------------------------------------------------------------ (b, c) the dispatcher
async function startDispatchers(names: TestNames, replicas: number) {
  const procs = [];
  for (let i = 0; i < replicas; i++) {
    const port = await freePort();
    const proc = spawnService(
      'webhook-dispatcher',
      serviceEnv(names, {
        LOG_LEVEL: 'warn',
        HEALTH_PORT: String(port),
        WEBHOOK_SECRET_KEY: SECRET_KEY,
        WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8',
        WEBHOOK_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
        STREAM_MAX_AGE_HOURS: '1',
      }),
    );
    await waitReady(`http://127.0.0.1:${port}/readyz`, proc);
    procs.push(proc);
  }
  return procs;
}

async function createEndpoint(bus: EventBus, names: TestNames) {
  const data = {
    principal: { kind: 'partner', partner_id: PARTNER, scopes: ['write:webhooks'], credential_id: 'bench' },
    params: {},
    query: {},
    body: { url: receiverUrl, event_types: ['lead.*'] },
    request_id: randomUUID(),
  };
  const msg = await bus.nc.request(
    `${names.RPC_PREFIX}.webhook-dispatcher.endpoints.create`,
    JSON.stringify({ id: randomUUID(), pattern: 'endpoints.create', data }),
    { timeout: 15_000 },
  );
  const reply = JSON.parse(new TextDecoder().decode(msg.data)).response;
  if (!reply.ok) throw new Error(`endpoint not created: ${JSON.stringify(reply)}`);
}

async function dispatcherCase(replicas: number, withLatency: boolean) {
  const w = await world(`bd${replicas}`);
  const procs = await startDispatchers(w.names, replicas);
  await createEndpoint(w.bus, w.names);
  const dps = await throughput(w.bus, `r${replicas}`);
  let latency: { p50: number; p99: number; n: number } | undefined;
  if (withLatency) {
    // Fixed offered load: RATE events/s for LATENCY_S seconds, published on a 10 ms tick.
    seen.clear();
    const sentAt = new Map<string, number>();
    const lat: number[] = [];
    onReceive = (id, at) => {
      const s = sentAt.get(id);
      if (s !== undefined) lat.push(at - s);
    };
    const subject = externalSubject(w.bus.prefix, PARTNER, 'lead.created');
    const total = RATE * LATENCY_S;
    const perTick = RATE / 100;
    const start = performance.now();
    let i = 0;
    while (i < total) {
      const due = start + (i / RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (let k = 0; k < perTick && i < total; k++, i++) {
        const ev = event(i, `lat${replicas}`);
        sentAt.set(ev.id, performance.now());
        void publishEvent(w.bus, subject, ev);
      }
    }
    const deadline = performance.now() + 60_000;
    while (lat.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    onReceive = null;
    lat.sort((a, b) => a - b);
    const q = (p: number) => Math.round((lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] ?? Number.NaN) * 10) / 10;
    latency = { p50: q(0.5), p99: q(0.99), n: lat.length };
  }
  for (const p of procs) await p.stop('SIGTERM');
  await w.close();
  return { dps, latency };
}

const baselineDps = await baseline();
console.log(`baseline (bare consumer + sign + undici): ${baselineDps} deliveries/s`);
const one = await dispatcherCase(1, true);
console.log(
  `dispatcher, 1 replica: ${one.dps} deliveries/s; e2e at ${RATE}/s: p50 ${one.latency?.p50} ms, p99 ${one.latency?.p99} ms (${one.latency?.n} events)`,
);
const two = await dispatcherCase(2, true);
console.log(
  `dispatcher, 2 replicas: ${two.dps} deliveries/s; e2e at ${RATE}/s: p50 ${two.latency?.p50} ms, p99 ${two.latency?.p99} ms (${two.latency?.n} events)`,
);
receiver.close();

const dispatcherDps = Math.max(one.dps, two.dps);
console.log(
  JSON.stringify({
    baseline_dps: baselineDps,
    dispatcher_dps: dispatcherDps,
    dispatcher_1r_dps: one.dps,
    dispatcher_2r_dps: two.dps,
    ratio: Math.round((dispatcherDps / baselineDps) * 100) / 100,
    e2e_p50_ms: one.latency?.p50,
    e2e_p99_ms: one.latency?.p99,
    e2e_2r_p50_ms: two.latency?.p50,
    e2e_2r_p99_ms: two.latency?.p99,
    offered_rate: RATE,
    events: EVENTS,
    accepted_at: 'jetstream-publish',
  }),
);
process.exit(0);
