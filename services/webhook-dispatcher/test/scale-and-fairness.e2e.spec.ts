import { createDb } from '@pep/db';
import { externalSubject, publishMany } from '@pep/events';
import { createTestBus, dbUrl, type TestNames, testNames, waitUntil, startReceiver } from '@pep/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatcherDB } from '../src/db/schema.ts';
import { claimDue } from '../src/dispatch/store.ts';
import { businessEvent, partner, rpcClient, startDispatcherProcess } from './support/harness.ts';

// The two "Test:" items of issue 3 that need load: fairness (7) and scale-out (9). Each uses its own
// isolated world; both are bounded (fixed event counts, waits with deadlines).

async function publishFor(
  bus: Parameters<typeof publishMany>[0],
  partnerId: string,
  type: string,
  n: number,
  data: (i: number) => Record<string, unknown> = () => ({}),
) {
  for (let i = 0; i < n; i += 1000) {
    const items = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      const event = businessEvent(partnerId, type, data(j));
      items.push({ subject: externalSubject(bus.prefix, partnerId, type), event });
    }
    await publishMany(bus, items);
  }
}

describe('fairness: one endpoint timing out with 10,000 queued deliveries', () => {
  // Fairness is asserted by properties that hold however fast or loaded the machine is; the measured
  // comparison (healthy p99 with and without the bad endpoint, must rise ≤ 20 %) is in bench/dispatch
  // (`fairness_p99_ratio`). Every wait below is a deadline for something that must happen, not a speed limit.
  let names: TestNames;
  let world: Awaited<ReturnType<typeof createTestBus>>;
  let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
  let rpc: Awaited<ReturnType<typeof rpcClient>>;
  let db: Kysely<DispatcherDB>;
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
  const CONCURRENCY = 16;

  beforeAll(async () => {
    names = testNames('whf');
    world = await createTestBus(names, ['webhook-dispatcher']);
    svc = await startDispatcherProcess(names, {
      WEBHOOK_ENDPOINT_CONCURRENCY: String(CONCURRENCY),
      WEBHOOK_RETRY_DELAYS_MS: '1000,2000',
      WEBHOOK_BREAKER_OPEN_MS: '2000',
    });
    rpc = await rpcClient(names);
    db = createDb<DispatcherDB>(dbUrl(names, 'webhook-dispatcher'), { max: 2 });
  });
  afterAll(async () => {
    await rpc?.close();
    await svc?.proc.stop();
    for (const r of receivers) await r.close();
    await db?.destroy();
    await world?.cleanup();
  });

  const count = async (where: ReturnType<typeof sql>) =>
    (await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where ${where}`.execute(db)).rows[0]?.n ?? 0;

  it('delivers every healthy-endpoint event while the bad lane is saturated: capped in flight, circuit open, no retries', async () => {
    const healthy = await startReceiver();
    const bad = await startReceiver();
    receivers.push(healthy, bad);
    let badOpen = 0;
    let badMaxOpen = 0;
    bad.setRespond((_r, res) => {
      badOpen++;
      badMaxOpen = Math.max(badMaxOpen, badOpen);
      res.on('close', () => badOpen--); // never answers: every attempt times out and the dispatcher hangs up
    });
    // The longest timeout, so "first attempt" does not depend on how busy the machine is.
    const goodEp = await rpc.ok('endpoints.create', partner('prt_good'), {
      body: { url: healthy.url, event_types: ['lead.*'], timeout_ms: 15_000 },
    });
    healthy.secrets.push(goodEp.secret);
    const badEp = await rpc.ok('endpoints.create', partner('prt_bad'), {
      body: { url: bad.url, event_types: ['lead.*'], timeout_ms: 500 },
    });

    await publishFor(world.bus, 'prt_bad', 'lead.created', 10_000);
    await waitUntil(async () => (await count(sql`endpoint_id = ${badEp.id}`)) >= 10_000 || undefined, {
      timeoutMs: 90_000,
      what: '10,000 queued deliveries for the bad endpoint',
    });
    // The bad endpoint's circuit opens (its lane stops taking work; its backlog waits in Postgres).
    const circuitOpen = async () => {
      const text = await (await fetch(`${svc.healthUrl}/metrics`)).text();
      return new RegExp(`webhook_circuit_state\\{[^}]*endpoint_id="${badEp.id}"[^}]*\\} 2`).test(text) || undefined;
    };
    await waitUntil(circuitOpen, { timeoutMs: 30_000, what: "the bad endpoint's circuit to open" });

    // While that backlog is there, the healthy endpoint gets every one of its events, each on its first
    // attempt: nothing of it waited behind the bad endpoint's lane, claims or leases.
    const healthyN = 300;
    await publishFor(world.bus, 'prt_good', 'lead.created', healthyN, (i) => ({ i }));
    await waitUntil(() => healthy.uniqueIds().size >= healthyN || undefined, { timeoutMs: 60_000, what: 'every healthy delivery' });
    await waitUntil(async () => (await count(sql`endpoint_id = ${goodEp.id} and status = 'succeeded'`)) >= healthyN || undefined, {
      timeoutMs: 30_000,
      what: 'healthy deliveries recorded',
    });
    const badPending = await count(sql`endpoint_id = ${badEp.id} and status = 'pending'`);
    const healthyRetried = await count(sql`endpoint_id = ${goodEp.id} and attempts <> 1`);
    console.log(JSON.stringify({ fairness: { bad_pending: badPending, bad_max_open: badMaxOpen, healthy: healthy.uniqueIds().size } }));
    expect(healthy.uniqueIds().size).toBe(healthyN);
    expect(healthy.received.every((r) => r.verified)).toBe(true);
    expect(healthyRetried).toBe(0);
    expect(badPending).toBeGreaterThan(9000); // the bad endpoint's backlog was really there the whole time
    expect(badMaxOpen).toBeGreaterThan(0); // it was tried...
    expect(badMaxOpen).toBeLessThanOrEqual(CONCURRENCY); // ...and never held more than its own concurrency
  });

  it("claims a healthy endpoint's due deliveries even behind another endpoint's older 10,000-row backlog", async () => {
    // Endpoints the running dispatcher does not know (it never claims for them), rows written directly.
    const [badId, goodId] = [`wep_hol_bad_${names.id}`, `wep_hol_good_${names.id}`];
    const base = 1_000_000_000;
    await sql`
      insert into webhook_events (seq, id, type, partner_id, time, traceparent, body)
      select ${base} + i, 'evt_hol_' || i, 'lead.created', 'prt_hol', now(), null, '{}' from generate_series(0, 10004) i`.execute(db);
    await sql`
      insert into webhook_deliveries (id, endpoint_id, partner_id, event_seq, event_id, event_type, event_time, status, attempts,
        attempt_budget, next_attempt_at)
      select 'msg_hol_' || i, case when i < 10000 then ${badId} else ${goodId} end, 'prt_hol', ${base} + i, 'evt_hol_' || i,
        'lead.created', now(), 'pending', 0, 5,
        case when i < 10000 then now() - interval '1 hour' else now() - interval '1 second' end
      from generate_series(0, 10004) i`.execute(db);
    // Part of the backlog is leased by another process, the rest is due: neither holds up the healthy rows.
    await sql`update webhook_deliveries set locked_until = now() + interval '1 minute', lease_token = 'other'
      where endpoint_id = ${badId} and event_seq < ${base + 5000}`.execute(db);

    const claimed = await claimDue(
      db,
      [
        { endpoint_id: badId, cap: CONCURRENCY, lease_ms: 60_000 },
        { endpoint_id: goodId, cap: CONCURRENCY, lease_ms: 60_000 },
      ],
      'test-token',
    );
    const good = claimed.filter((c) => c.endpoint_id === goodId);
    const badClaimed = claimed.filter((c) => c.endpoint_id === badId);
    expect(good.map((c) => c.id).sort()).toEqual(['msg_hol_10000', 'msg_hol_10001', 'msg_hol_10002', 'msg_hol_10003', 'msg_hol_10004']);
    expect(badClaimed).toHaveLength(CONCURRENCY); // the backlog gets only its lane's share
    expect(badClaimed.every((c) => Number(c.id.slice('msg_hol_'.length)) >= 5000)).toBe(true); // never another's lease
  });
});

describe('scale-out: 2 replicas, 10,000 events, kill -9 one mid-load', () => {
  let names: TestNames;
  let world: Awaited<ReturnType<typeof createTestBus>>;
  const procs: Awaited<ReturnType<typeof startDispatcherProcess>>[] = [];
  let rpc: Awaited<ReturnType<typeof rpcClient>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  // Short ack wait and leases so the killed replica's work is taken over quickly; short retries because on a
  // loaded machine an attempt may time out (the receiver then has it already; at-least-once).
  const env: Record<string, string> = {
    WEBHOOK_ACK_WAIT_MS: '3000',
    WEBHOOK_LEASE_EXTRA_MS: '2000',
    WEBHOOK_DEFAULT_TIMEOUT_MS: '5000',
    WEBHOOK_RETRY_DELAYS_MS: '500,1000,2000,4000',
    WEBHOOK_REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  };

  beforeAll(async () => {
    names = testNames('whs');
    env.WEBHOOK_RATE_LIMIT_PREFIX = `test:${names.id}:webhook-rate:`;
    world = await createTestBus(names, ['webhook-dispatcher']);
    procs.push(await startDispatcherProcess(names, env));
    procs.push(await startDispatcherProcess(names, env));
    rpc = await rpcClient(names);
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await rpc?.close();
    for (const p of procs) await p.proc.stop();
    await receiver?.close();
    await world?.cleanup();
  });

  it('delivers every event, and records no delivery as succeeded twice', async () => {
    const ep = await rpc.ok('endpoints.create', partner('prt_scale'), { body: { url: receiver.url, event_types: ['lead.*'] } });
    receiver.secrets.push(ep.secret);
    const total = 10_000;
    const publishing = publishFor(world.bus, 'prt_scale', 'lead.created', total);
    await waitUntil(() => receiver.uniqueIds().size >= 2500 || undefined, { timeoutMs: 60_000, what: 'a quarter delivered' });
    const metric = async (url: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/webhook_deliveries_total\{[^}]*outcome="succeeded"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const [a, b] = procs as [Awaited<ReturnType<typeof startDispatcherProcess>>, Awaited<ReturnType<typeof startDispatcherProcess>>];
    const byReplica = [await metric(a.healthUrl), await metric(b.healthUrl)];
    a.proc.child.kill('SIGKILL');
    await a.proc.exited;
    const killedAt = receiver.uniqueIds().size;
    await publishing;
    procs[0] = await startDispatcherProcess(names, env);
    await waitUntil(() => receiver.uniqueIds().size >= total || undefined, { timeoutMs: 120_000, what: `${total} unique deliveries` });

    const db = createDb<unknown>(dbUrl(names, 'webhook-dispatcher'), { max: 1 });
    try {
      await waitUntil(
        async () => {
          const r = await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where status = 'succeeded'`.execute(db);
          return r.rows[0]?.n === total || undefined;
        },
        { timeoutMs: 60_000, what: 'every delivery recorded as succeeded' },
      );
      const rows = await sql<{ deliveries: number; succeeded: number; doubled: number }>`
        select (select count(*)::int from webhook_deliveries) as deliveries,
               (select count(*)::int from webhook_deliveries where status = 'succeeded') as succeeded,
               (select count(*)::int from (select delivery_id from webhook_attempts where outcome = 'succeeded'
                  group by delivery_id having count(*) > 1) x) as doubled`.execute(db);
      console.log(
        JSON.stringify({
          scale_out: {
            ...rows.rows[0],
            received: receiver.received.length,
            unique: receiver.uniqueIds().size,
            killed_at: killedAt,
            before_kill_by_replica: byReplica,
          },
        }),
      );
      expect(rows.rows[0]).toEqual({ deliveries: total, succeeded: total, doubled: 0 });
      expect(receiver.uniqueIds().size).toBe(total);
      expect(receiver.received.every((r) => r.verified)).toBe(true);
      expect(byReplica.every((n) => n > 0)).toBe(true); // both replicas were sharing the work
    } finally {
      await db.destroy();
    }
  });
  it('holds one endpoint rate limit across both replicas (a bucket shared in Redis), not one per replica', async () => {
    const r = await startReceiver();
    try {
      const ep = await rpc.ok('endpoints.create', partner('prt_rate'), {
        body: { url: r.url, event_types: ['lead.*'], rate_limit_per_s: 5, timeout_ms: 15_000 },
      });
      const succeeded = async (url: string) => {
        const text = await (await fetch(`${url}/metrics`)).text();
        return Number(/webhook_deliveries_total\{[^}]*outcome="succeeded"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      const before = await Promise.all(procs.map((p) => succeeded(p.healthUrl)));
      const n = 40;
      await publishFor(world.bus, 'prt_rate', 'lead.created', n, (i) => ({ i }));
      await waitUntil(() => r.uniqueIds().size >= n || undefined, { timeoutMs: 60_000, what: `${n} rate-limited deliveries` });
      // The receiver can see the last delivery a moment before the replica counts its outcome: wait for the counts.
      let byReplica: number[] = [];
      await waitUntil(
        async () => {
          const after = await Promise.all(procs.map((p) => succeeded(p.healthUrl)));
          byReplica = after.map((a, i) => a - (before[i] as number));
          return byReplica.reduce((x, y) => x + y, 0) >= n || undefined;
        },
        { timeoutMs: 10_000, what: 'both replicas to count their succeeded attempts' },
      );
      const at = r.received.map((x) => x.at).sort((a, b) => a - b);
      const span = (at[n - 1] as number) - (at[0] as number);
      console.log(JSON.stringify({ shared_rate_limit: { endpoint: ep.id, by_replica: byReplica, span_ms: span } }));
      expect(byReplica.reduce((x, y) => x + y, 0)).toBe(n);
      // Together at most 5/s: a burst of 5, then 35 more take at least 7 s, however the intake split them
      // between the replicas (two per-replica buckets let an even split through in about half that). A lower
      // bound only: a slow machine cannot fail it. The exact bound is in shared-rate-limiter.int.spec.ts.
      expect(span).toBeGreaterThanOrEqual(6500);
    } finally {
      await r.close();
    }
  });
});
