import { createDb, dropDatabase, ensureDatabase, migrateToLatest } from '@pep/db';
import { createTestBus, dbUrl, type TestNames, testNames, waitUntil, startReceiver } from '@pep/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatcherMigrations } from '../src/db/migrations/index.ts';
import type { DispatcherDB } from '../src/db/schema.ts';
import { deliveryId, relayOutbox } from '../src/dispatch/store.ts';
import { partner, publishBusiness, rpcClient, startDispatcherProcess } from './support/harness.ts';

// Deliveries sent straight from the stream, before any row exists: recorded once afterwards, acked only
// then, given back on SIGTERM when not started, and exhausted events relayed through the outbox.
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
let rpc: Awaited<ReturnType<typeof rpcClient>>;
let db: Kysely<DispatcherDB>;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
const env = { WEBHOOK_RETRY_DELAYS_MS: '300', WEBHOOK_BREAKER_MIN_REQUESTS: '1000', WEBHOOK_DEFAULT_TIMEOUT_MS: '1000' };

async function receiver() {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function createEndpoint(owner: string, url: string, body: Record<string, unknown> = {}) {
  return (await rpc.ok('endpoints.create', partner(owner), { body: { url, event_types: ['lead.*'], ...body } })) as {
    id: string;
    secret: string;
  };
}

const consumerInfo = () => world.bus.jsm.consumers.info(names.STREAM_NAME, 'webhook-dispatcher');

beforeAll(async () => {
  names = testNames('whh');
  world = await createTestBus(names, ['webhook-dispatcher']);
  svc = await startDispatcherProcess(names, env);
  rpc = await rpcClient(names);
  db = createDb<DispatcherDB>(dbUrl(names, 'webhook-dispatcher'), { max: 2 });
});

afterAll(async () => {
  await db?.destroy();
  await rpc?.close();
  await svc?.proc.stop();
  for (const r of receivers) await r.close();
  await world?.cleanup();
});

describe('deliveries sent straight from the stream', () => {
  it('records the delivery and its attempt once, with an id derived from (endpoint, event), then acks the message', async () => {
    const r = await receiver();
    const ep = await createEndpoint('prt_held', r.url);
    r.secrets.push(ep.secret);
    const ev = await publishBusiness(world.bus, 'prt_held', 'lead.created');
    const got = await waitUntil(() => r.received[0], { what: 'the delivery' });
    expect(got.verified).toBe(true);
    const row = await waitUntil(
      () =>
        db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('endpoint_id', '=', ep.id)
          .where('status', '=', 'succeeded')
          .executeTakeFirst(),
      { what: 'the delivery recorded' },
    );
    expect(row).toMatchObject({ id: got.id, event_id: ev.id, attempts: 1, replay_job_id: '' });
    const stored = await world.bus.jsm.streams.getMessage(names.STREAM_NAME, { seq: Number(row.event_seq) });
    expect(got.id).toBe(deliveryId(ep.id, Number(row.event_seq), '', stored?.time.getTime() ?? 0));
    const attempts = await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', row.id).execute();
    expect(attempts.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([[1, 'succeeded', 204]]);
    await waitUntil(
      async () => {
        const info = await consumerInfo();
        return (info.num_ack_pending === 0 && info.num_pending === 0) || undefined;
      },
      { what: 'the message acked' },
    );
    expect(r.received).toHaveLength(1);
  });

  it('keeps a failed first attempt as a pending row that the retry picks up', async () => {
    const r = await receiver();
    let calls = 0;
    r.setRespond((_x, res) => {
      calls++;
      res.statusCode = calls === 1 ? 503 : 200;
      res.end();
    });
    const ep = await createEndpoint('prt_held_retry', r.url);
    await publishBusiness(world.bus, 'prt_held_retry', 'lead.created');
    const row = await waitUntil(
      () =>
        db
          .selectFrom('webhook_deliveries')
          .selectAll()
          .where('endpoint_id', '=', ep.id)
          .where('status', '=', 'succeeded')
          .executeTakeFirst(),
      { what: 'the retry succeeded' },
    );
    expect(row.attempts).toBe(2);
    const attempts = await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', '=', row.id).orderBy('id').execute();
    expect(attempts.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, 503],
      [2, 200],
    ]);
    expect(new Set(r.received.map((x) => x.id))).toEqual(new Set([row.id]));
  });

  it('on SIGTERM gives back what a lane has not started: after a restart every event arrives exactly once', async () => {
    const r = await receiver();
    // 4 per second: most of the 20 deliveries wait in the lane when the process is told to stop.
    const ep = await createEndpoint('prt_held_stop', r.url, { rate_limit_per_s: 4 });
    r.secrets.push(ep.secret);
    for (let i = 0; i < 20; i++) await publishBusiness(world.bus, 'prt_held_stop', 'lead.created', { i });
    await waitUntil(() => r.received.length >= 3 || undefined, { what: 'the first deliveries' });
    expect(await svc.proc.stop('SIGTERM')).toBe(0);
    const atStop = r.received.length;
    expect(atStop).toBeLessThan(20);
    svc = await startDispatcherProcess(names, env);
    await waitUntil(() => r.uniqueIds().size >= 20 || undefined, { timeoutMs: 30_000, what: 'all 20 delivered' });
    const rows = await waitUntil(
      async () => {
        const x = await db
          .selectFrom('webhook_deliveries')
          .select(['id', 'status', 'attempts'])
          .where('endpoint_id', '=', ep.id)
          .where('status', '=', 'succeeded')
          .execute();
        return x.length === 20 ? x : undefined;
      },
      { what: '20 recorded' },
    );
    // Nothing that was queued had been sent, so nothing is sent twice, and each delivery has one attempt.
    await new Promise((res) => setTimeout(res, 500));
    expect(r.received).toHaveLength(20);
    expect(r.received.every((x) => x.verified)).toBe(true);
    expect(rows.every((x) => x.attempts === 1)).toBe(true);
    expect(new Set(rows.map((x) => x.id))).toEqual(r.uniqueIds());
  });
});

describe('exhausted-event outbox', () => {
  // A database of its own (no dispatcher relays from it), with the service's migrations.
  let odb: Kysely<DispatcherDB>;
  const outboxUrl = () => dbUrl(names, 'webhook-outbox');
  beforeAll(async () => {
    await ensureDatabase(outboxUrl());
    odb = createDb<DispatcherDB>(outboxUrl(), { max: 2 });
    await migrateToLatest(odb, dispatcherMigrations);
  });
  afterAll(async () => {
    await odb?.destroy();
    await dropDatabase(outboxUrl());
  });

  it('keeps a row whose publish failed, publishes it on the next round, then has nothing left', async () => {
    const row = (id: string) => ({
      id,
      endpoint_id: 'wep_outbox',
      partner_id: 'prt_outbox',
      event_seq: Number(id.slice(-1)),
      event_id: `evt_${id}`,
      event_type: 'lead.created',
      event_time: new Date(),
      replay_job_id: '',
      status: 'failed' as const,
      attempts: 3,
      attempt_budget: 3,
      last_status_code: 500,
      last_error: 'HTTP 500',
    });
    await odb
      .insertInto('webhook_deliveries')
      .values([row('msg_a1'), row('msg_b2')])
      .execute();
    await odb
      .insertInto('webhook_outbox')
      .values([
        { delivery_id: 'msg_a1', attempts: 3 },
        { delivery_id: 'msg_b2', attempts: 3 },
      ])
      .execute();
    const left = async () =>
      (await odb.selectFrom('webhook_outbox').select('delivery_id').orderBy('delivery_id').execute()).map((x) => x.delivery_id);

    const first: string[] = [];
    expect(
      await relayOutbox(odb, async (d) => {
        if (d.id === 'msg_b2') throw new Error('NATS unavailable');
        first.push(d.id);
      }),
    ).toEqual({ published: 1, failed: 1 });
    expect(first).toEqual(['msg_a1']);
    expect(await left()).toEqual(['msg_b2']);

    const second: { id: string; attempts: number; last_status_code: number | null }[] = [];
    expect(await relayOutbox(odb, async (d) => void second.push(d))).toEqual({ published: 1, failed: 0 });
    expect(second).toEqual([expect.objectContaining({ id: 'msg_b2', attempts: 3, last_status_code: 500, partner_id: 'prt_outbox' })]);
    expect(await left()).toEqual([]);
    expect(await relayOutbox(odb, async () => undefined)).toEqual({ published: 0, failed: 0 });
  });
});
