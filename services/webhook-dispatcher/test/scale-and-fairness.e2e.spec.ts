import { createDb } from '@pep/db';
import { externalSubject, publishMany } from '@pep/events';
import { createTestBus, dbUrl, type TestNames, testNames, waitUntil } from '@pep/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { businessEvent, partner, rpcClient, startDispatcherProcess, startReceiver } from './support/harness.ts';

// The two "Test:" items of issue 3 that need load: fairness (7) and scale-out (9). Each uses its own
// isolated world; both are bounded (fixed event counts, waits with deadlines).

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] as number;
}

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
  let names: TestNames;
  let world: Awaited<ReturnType<typeof createTestBus>>;
  let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
  let rpc: Awaited<ReturnType<typeof rpcClient>>;
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];

  beforeAll(async () => {
    names = testNames('whf');
    world = await createTestBus(names, ['webhook-dispatcher']);
    svc = await startDispatcherProcess(names, {
      WEBHOOK_RETRY_DELAYS_MS: '1000,2000',
      WEBHOOK_BREAKER_OPEN_MS: '2000',
    });
    rpc = await rpcClient(names);
  });
  afterAll(async () => {
    await rpc?.close();
    await svc?.proc.stop();
    for (const r of receivers) await r.close();
    await world?.cleanup();
  });

  /** Publishes `n` healthy events at `rate`/s and returns their delivery latencies (publish → received). */
  async function healthyRun(healthy: Awaited<ReturnType<typeof startReceiver>>, n: number, rate: number): Promise<number[]> {
    const start = healthy.received.length;
    const sentAt = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const due = Date.now() + 1000 / rate;
      const ev = businessEvent('prt_good', 'lead.created', { i });
      sentAt.set(ev.id, Date.now());
      void publishMany(world.bus, [{ subject: externalSubject(world.bus.prefix, 'prt_good', 'lead.created'), event: ev }]);
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await waitUntil(() => healthy.received.length >= start + n || undefined, { timeoutMs: 30_000, what: 'healthy deliveries' });
    return healthy.received.slice(start).map((r) => r.at - (sentAt.get((JSON.parse(r.body) as { id: string }).id) ?? r.at));
  }

  it('keeps the p99 latency of a healthy endpoint within 20% (+5 ms timer noise)', async () => {
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
    await rpc.ok('endpoints.create', partner('prt_good'), { body: { url: healthy.url, event_types: ['lead.*'] } });
    const badEp = await rpc.ok('endpoints.create', partner('prt_bad'), {
      body: { url: bad.url, event_types: ['lead.*'], timeout_ms: 500 },
    });

    await healthyRun(healthy, 100, 200); // warm-up
    const without = await healthyRun(healthy, 600, 200);

    await publishFor(world.bus, 'prt_bad', 'lead.created', 10_000);
    const db = createDb<any>(dbUrl(names, 'webhook-dispatcher'), { max: 1 });
    try {
      await waitUntil(
        async () => {
          const r = await sql<{ n: number }>`select count(*)::int as n from webhook_deliveries where endpoint_id = ${badEp.id}`.execute(db);
          return (r.rows[0]?.n ?? 0) >= 10_000 || undefined;
        },
        { timeoutMs: 60_000, what: '10,000 queued deliveries for the bad endpoint' },
      );
      const withBad = await healthyRun(healthy, 600, 200);
      const pending = await sql<{
        n: number;
      }>`select count(*)::int as n from webhook_deliveries where endpoint_id = ${badEp.id} and status = 'pending'`.execute(db);
      const p99Without = p99(without);
      const p99With = p99(withBad);
      console.log(
        JSON.stringify({
          fairness: { p99_without_ms: p99Without, p99_with_ms: p99With, bad_pending: pending.rows[0]?.n, bad_max_open: badMaxOpen },
        }),
      );
      expect(pending.rows[0]?.n).toBeGreaterThan(9000); // the bad endpoint's backlog was really there
      expect(badMaxOpen).toBeLessThanOrEqual(16); // it never held more than its own concurrency
      expect(p99With).toBeLessThanOrEqual(p99Without * 1.2 + 5);
    } finally {
      await db.destroy();
    }
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
  const env = {
    WEBHOOK_ACK_WAIT_MS: '3000',
    WEBHOOK_LEASE_EXTRA_MS: '2000',
    WEBHOOK_DEFAULT_TIMEOUT_MS: '5000',
    WEBHOOK_RETRY_DELAYS_MS: '500,1000,2000,4000',
  };

  beforeAll(async () => {
    names = testNames('whs');
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

    const db = createDb<any>(dbUrl(names, 'webhook-dispatcher'), { max: 1 });
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
});
