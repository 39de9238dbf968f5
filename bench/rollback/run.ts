// bench/rollback (`pnpm bench:rollback`): from an incident accepted by the platform to the flag toggle
// received by the reference partner, over BENCH_INCIDENTS (default 500) incidents sent at BENCH_RATE per
// second (default 20), through the real gateway and rollback-orchestrator processes (NATS, Postgres, Redis).
// Beside it, in the same run and interleaved with it, the baseline: a direct HTTP call to the same partner.
//   toggle_*            incident POST sent → toggle applied at the partner (includes the acceptance itself)
//   accept_to_toggle_*  202 received → toggle applied (negative when the toggle won the race with the 202)
//   accept_*            POST /v1/incidents round trip (the 2 s budget, 500 ms target)
//   baseline_*          direct POST {partner}/webhook/pathcanary round trip
// Ends with one JSON line; the floor is toggle_p99_ms ≤ 200.
import { randomBytes, randomUUID } from 'node:crypto';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { dropDatabase } from '@pep/db';
import { bestEffort, dbUrl, freePort, serviceEnv, spawnService, testNames, waitReady, waitUntil } from '@pep/testing';
import { startReferencePartner, type Toggle } from '../../tools/conformance/src/reference-partner.ts';

const INCIDENTS = Number(process.env.BENCH_INCIDENTS ?? 500);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const CUSTOMERS = Number(process.env.BENCH_CUSTOMERS ?? Math.max(1, Math.ceil(INCIDENTS / 50)));
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const TOKEN = 'bench-partner-token-123456';
const FLOOR_MS = 200;

const now = () => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
};
const r1 = (n: number) => Math.round(n * 10) / 10;

async function main() {
  console.log(
    `bench/rollback: ${INCIDENTS} incidents at ${RATE}/s over ${CUSTOMERS} customers, gateway + rollback-orchestrator; node ${process.version}`,
  );
  const names = testNames('benchrbk');
  const bus = await connectBus({ url: NATS_URL, name: 'bench-rollback', stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '1' }),
  );

  const toggles = new Map<string, Toggle[]>();
  const partner = await startReferencePartner({
    token: TOKEN,
    onToggle: (t) => {
      const list = toggles.get(t.incident_id) ?? [];
      list.push(t);
      toggles.set(t.incident_id, list);
    },
  });
  const secret = randomBytes(32).toString('hex');
  const common = { STREAM_MAX_AGE_HOURS: '1', LOG_LEVEL: 'warn' };
  const healthPort = await freePort();
  const orchestrator = spawnService(
    'rollback-orchestrator',
    serviceEnv(names, { ...common, HEALTH_PORT: String(healthPort), ROLLBACK_SECRETS_KEY: secret, OUTBOUND_ALLOWLIST: '127.0.0.1/32' }),
  );
  const gwPort = await freePort();
  const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const gateway = spawnService(
    'gateway',
    serviceEnv(names, { ...common, GATEWAY_PORT: String(gwPort), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_ENABLED: 'false' }),
  );
  const gw = `http://127.0.0.1:${gwPort}`;
  const procs = [orchestrator, gateway];
  try {
    await waitReady(`http://127.0.0.1:${healthPort}/readyz`, orchestrator);
    await waitReady(`${gw}/readyz`, gateway);
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${gw}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const partnerId = 'prt_01jbenchbenchbenchbench000';
    for (let c = 0; c < CUSTOMERS; c++) {
      const r = await post('/v1/rollback/policies', {
        partner_id: partnerId,
        customer_id: `cus_${c}`,
        mode: 'auto',
        cooldown_minutes: 0,
        providers: [{ id: 'ref', kind: 'partner_webhook', base_url: partner.url, token: TOKEN }],
        journeys: [{ funnel: 'checkout', flags: [{ provider_id: 'ref', flag_key: `flag-${c}` }] }],
      });
      if (r.status !== 201) throw new Error(`policy ${c}: ${r.status} ${JSON.stringify(r.body)}`);
    }

    // Warm-up: a few incidents and baseline calls, not measured.
    const baselineCall = async () => {
      const started = now();
      const res = await fetch(`${partner.url}/webhook/pathcanary`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({
          flag_key: 'baseline',
          action: 'disable',
          incident_id: `baseline-${randomUUID()}`,
          reason: 'baseline',
          requested_at: new Date().toISOString(),
        }),
      });
      await res.text();
      if (res.status !== 200) throw new Error(`baseline answered ${res.status}`);
      return now() - started;
    };
    const incident = (id: string, c: number) => ({
      partner_id: partnerId,
      incident_id: id,
      customer_id: `cus_${c}`,
      journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.example.com/pay' },
      severity: 'critical',
      detected_at: new Date().toISOString(),
      suspects: { flags: [`flag-${c}`] },
    });
    for (let i = 0; i < 10; i++) {
      await post('/v1/incidents', incident(`warm-${i}`, i % CUSTOMERS));
      await baselineCall();
    }
    await waitUntil(() => toggles.size >= 10 || undefined, { timeoutMs: 30_000, what: 'warm-up toggles' });

    const sent = new Map<string, { sentAt: number; acceptedAt?: number; status?: number }>();
    const baseline: number[] = [];
    const inflight: Promise<unknown>[] = [];
    const t0 = now();
    for (let i = 0; i < INCIDENTS; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const id = `bench-${i}`;
      const rec: { sentAt: number; acceptedAt?: number; status?: number } = { sentAt: now() };
      sent.set(id, rec);
      inflight.push(
        post('/v1/incidents', incident(id, i % CUSTOMERS)).then((r) => {
          rec.acceptedAt = now();
          rec.status = r.status;
        }),
      );
      inflight.push(baselineCall().then((ms) => baseline.push(ms)));
    }
    await Promise.all(inflight);
    const sendSeconds = (now() - t0) / 1000;
    await waitUntil(() => [...sent.keys()].every((id) => toggles.has(id)) || undefined, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'every toggle',
    }).catch((err: unknown) => console.warn(`not every toggle arrived (counted as missing below): ${(err as Error).message}`));
    await new Promise((r) => setTimeout(r, 1000));

    const toggle: number[] = [];
    const acceptToToggle: number[] = [];
    const accept: number[] = [];
    let missing = 0;
    let duplicates = 0;
    let rejected = 0;
    for (const [id, rec] of sent) {
      if (rec.status !== 202) rejected++;
      if (rec.acceptedAt !== undefined) accept.push(rec.acceptedAt - rec.sentAt);
      const got = toggles.get(id);
      if (!got?.length) {
        missing++;
        continue;
      }
      if (got.length > 1) duplicates += got.length - 1;
      const at = (got[0] as Toggle).received_at_ms;
      toggle.push(at - rec.sentAt);
      if (rec.acceptedAt !== undefined) acceptToToggle.push(at - rec.acceptedAt);
    }
    const result = {
      bench: 'rollback',
      incidents: INCIDENTS,
      rate_per_s: RATE,
      achieved_rate_per_s: r1(INCIDENTS / sendSeconds),
      customers: CUSTOMERS,
      toggle_p50_ms: r1(pct(toggle, 50)),
      toggle_p99_ms: r1(pct(toggle, 99)),
      toggle_max_ms: r1(pct(toggle, 100)),
      accept_to_toggle_p50_ms: r1(pct(acceptToToggle, 50)),
      accept_to_toggle_p99_ms: r1(pct(acceptToToggle, 99)),
      accept_p50_ms: r1(pct(accept, 50)),
      accept_p99_ms: r1(pct(accept, 99)),
      baseline_p50_ms: r1(pct(baseline, 50)),
      baseline_p99_ms: r1(pct(baseline, 99)),
      rejected,
      missing_toggles: missing,
      duplicate_toggles: duplicates,
      floor_toggle_p99_ms: FLOOR_MS,
      floor_met: pct(toggle, 99) <= FLOOR_MS && missing === 0 && duplicates === 0,
    };
    console.log(`incident → toggle   p50 ${result.toggle_p50_ms} ms   p99 ${result.toggle_p99_ms} ms   max ${result.toggle_max_ms} ms`);
    console.log(`202 → toggle        p50 ${result.accept_to_toggle_p50_ms} ms   p99 ${result.accept_to_toggle_p99_ms} ms`);
    console.log(`POST /v1/incidents  p50 ${result.accept_p50_ms} ms   p99 ${result.accept_p99_ms} ms   (${rejected} not 202)`);
    console.log(`baseline (direct)   p50 ${result.baseline_p50_ms} ms   p99 ${result.baseline_p99_ms} ms`);
    console.log(`toggles: ${toggle.length} received, ${missing} missing, ${duplicates} duplicates`);
    console.log(JSON.stringify(result));
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await partner.close();
    await bestEffort('delete the stream', bus.jsm.streams.delete(names.STREAM_NAME));
    await closeBus(bus);
    for (const s of ['rollback-orchestrator', 'gateway']) await bestEffort(`drop database ${s}`, dropDatabase(dbUrl(names, s)));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
