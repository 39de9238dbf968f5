import { aggregateSubject, publishEvent } from '@pep/events';
import { createTestBus, type TestNames, testNames, waitUntil, type Received, startReceiver } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, businessEvent, partner, publishBusiness, rpcClient, startDispatcherProcess } from './support/harness.ts';

// One real dispatcher process (own stream, subjects, database), real loopback receivers verified with the
// `standardwebhooks` package, and the RPC requests the gateway would send.
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
let rpc: Awaited<ReturnType<typeof rpcClient>>;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
const P1 = 'prt_01jzzzzzzzzzzzzzzzzzzzzzz1';
const P2 = 'prt_01jzzzzzzzzzzzzzzzzzzzzzz2';

async function receiver() {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function createEndpoint(owner: string, url: string, body: Record<string, unknown> = {}) {
  const ep = await rpc.ok('endpoints.create', partner(owner), { body: { url, event_types: ['lead.*'], ...body } });
  return ep as { id: string; secret: string; partner_id: string; enabled: boolean };
}

const deliveriesOf = async (endpointId: string, owner: string, query: Record<string, unknown> = {}) =>
  (await rpc.ok('deliveries.list', partner(owner), { params: { id: endpointId }, query: { limit: 100, ...query } })).data as {
    id: string;
    status: string;
    attempts: number;
    event_type: string;
    replay_job_id: string | null;
  }[];

const attemptsOf = async (deliveryId: string, owner: string) =>
  (await rpc.ok('deliveries.attempts', partner(owner), { params: { id: deliveryId } })).data as {
    attempt: number;
    started_at: string;
    status_code: number | null;
    outcome: string;
    error_class: string | null;
    response_excerpt: string | null;
    latency_ms: number;
  }[];

const waitJob = (id: string, owner: string) =>
  waitUntil(
    async () => {
      const j = await rpc.ok('jobs.get', partner(owner), { params: { id } });
      return j.status === 'completed' || j.status === 'failed' ? j : undefined;
    },
    { what: `job ${id}` },
  );

beforeAll(async () => {
  names = testNames('whd');
  world = await createTestBus(names, ['webhook-dispatcher']);
  svc = await startDispatcherProcess(names, {
    WEBHOOK_RETRY_DELAYS_MS: '300,600',
    WEBHOOK_BREAKER_MIN_REQUESTS: '1000',
    WEBHOOK_DISABLE_AFTER_MS: '4000',
    WEBHOOK_MAINTENANCE_MS: '300',
    WEBHOOK_DEFAULT_TIMEOUT_MS: '1000',
  });
  rpc = await rpcClient(names);
});

afterAll(async () => {
  await rpc?.close();
  await svc?.proc.stop();
  for (const r of receivers) await r.close();
  await world?.cleanup();
});

describe('webhook endpoints', () => {
  it('registers an endpoint with a whsec_ secret, owned by the calling partner', async () => {
    const r = await receiver();
    const ep = await createEndpoint(P1, r.url, { description: 'crm' });
    expect(ep.id).toMatch(/^wep_/);
    expect(ep.secret).toMatch(/^whsec_/);
    expect(ep.partner_id).toBe(P1);
    expect(ep.enabled).toBe(true);
    const secret = await rpc.ok('endpoints.secret', partner(P1), { params: { id: ep.id } });
    expect(secret.secret).toBe(ep.secret);
    const list = await rpc.ok('endpoints.list', partner(P1));
    expect(list.data.map((e: { id: string }) => e.id)).toContain(ep.id);
  });

  it('answers 404 to another partner, for reads and writes alike', async () => {
    const ep = await createEndpoint(P1, (await receiver()).url);
    for (const [pattern, req] of [
      ['endpoints.get', { params: { id: ep.id } }],
      ['endpoints.secret', { params: { id: ep.id } }],
      ['endpoints.update', { params: { id: ep.id }, body: { description: 'x' } }],
      ['endpoints.delete', { params: { id: ep.id } }],
      ['deliveries.list', { params: { id: ep.id } }],
    ] as const) {
      const r = await rpc.call(pattern, partner(P2), req);
      expect(r.ok ? 200 : r.problem.status, pattern).toBe(404);
    }
    const list = await rpc.ok('endpoints.list', partner(P2));
    expect(list.data.map((e: { id: string }) => e.id)).not.toContain(ep.id);
    expect((await rpc.ok('endpoints.get', admin, { params: { id: ep.id } })).id).toBe(ep.id);
  });

  it('requires partner_id from admins and refuses private, metadata and non-http URLs (422 naming url)', async () => {
    const noOwner = await rpc.call('endpoints.create', admin, { body: { url: 'http://127.0.0.1:9/x', event_types: ['*'] } });
    expect(noOwner.ok).toBe(false);
    if (!noOwner.ok) expect(noOwner.problem.errors).toEqual([expect.objectContaining({ path: 'partner_id' })]);
    for (const url of ['http://169.254.169.254/latest', 'http://10.1.2.3/x', 'http://[::ffff:192.168.0.1]/', 'http://100.64.0.9/']) {
      const r = await rpc.call('endpoints.create', partner(P1), { body: { url, event_types: ['*'] } });
      expect(r.ok, url).toBe(false);
      if (!r.ok) {
        expect(r.problem.status).toBe(422);
        expect(r.problem.errors).toEqual([expect.objectContaining({ path: 'url' })]);
      }
    }
    const viaAdmin = await rpc.ok('endpoints.create', admin, { body: { url: 'http://127.0.0.1:9/x', event_types: ['*'], partner_id: P2 } });
    expect(viaAdmin.partner_id).toBe(P2);
  });

  it('lists the event catalog with JSON Schemas', async () => {
    const r = await rpc.ok('event-types.list', partner(P1));
    const exhausted = r.data.find((t: { type: string }) => t.type === 'webhook.delivery.exhausted');
    expect(exhausted?.schema).toMatchObject({ type: 'object', properties: expect.objectContaining({ delivery_id: expect.anything() }) });
  });
});

describe('deliveries', () => {
  it("delivers signed envelopes of the owner's events that match the filter, and nothing else", async () => {
    const r = await receiver();
    const ep = await createEndpoint(P1, r.url, { event_types: ['lead.*', 'claim.paid'], headers: { 'x-tenant': 'one' } });
    r.secrets.push(ep.secret);
    const wanted = [await publishBusiness(world.bus, P1, 'lead.created', { n: 1 }), await publishBusiness(world.bus, P1, 'claim.paid')];
    await publishBusiness(world.bus, P1, 'policy.created');
    await publishBusiness(world.bus, P2, 'lead.created');
    await waitUntil(() => r.received.length >= 2 || undefined, { what: '2 deliveries' });
    await new Promise((res) => setTimeout(res, 500));
    expect(r.received).toHaveLength(2);
    for (const got of r.received) {
      expect(got.verified).toBe(true);
      expect(got.headers['x-tenant']).toBe('one');
      expect(got.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      expect(got.headers['content-type']).toBe('application/json');
    }
    const bodies = r.received.map((x) => JSON.parse(x.body) as { id: string; type: string; partnerid: string });
    expect(bodies.map((b) => b.id).sort()).toEqual(wanted.map((w) => w.id).sort());
    expect(bodies.every((b) => b.partnerid === P1)).toBe(true);
    const ds = await waitUntil(async () => {
      const list = await deliveriesOf(ep.id, P1);
      return list.length === 2 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    });
    const attempts = await attemptsOf(ds[0]?.id as string, P1);
    expect(attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'succeeded', status_code: 204, error_class: null })]);
  });

  it('never delivers credential events (endpoint secrets, API keys, OAuth clients), not even to "*"', async () => {
    const P3 = 'prt_01jzzzzzzzzzzzzzzzzzzzzzz3';
    const r = await receiver();
    const ep = await createEndpoint(P3, r.url, { event_types: ['*'] });
    r.secrets.push(ep.secret);
    // The partner's own endpoint lifecycle: webhook_endpoint.created and .secret_rotated carry sealed secrets.
    const other = await createEndpoint(P3, (await receiver()).url, { event_types: ['claim.*'] });
    await rpc.ok('endpoints.rotate-secret', partner(P3), { params: { id: other.id } });
    // Credential events of the registry, as they appear in the stream.
    const credential = (type: string, aggregate: string, id: string, data: Record<string, unknown>) =>
      publishEvent(world.bus, aggregateSubject(world.bus.prefix, aggregate, id), {
        ...businessEvent(P3, type, { partner_id: P3, ...data }),
        source: 'partner-registry',
      });
    await credential('api_key.created', 'api_key', 'key_cred', { api_key_id: 'key_cred', hash: 'ab'.repeat(32) });
    await credential('oauth_client.created', 'oauth_client', 'cli_cred', { client_id: 'cli_cred', secret_hash: 'cd'.repeat(32) });
    const marker = await publishBusiness(world.bus, P3, 'lead.created');
    // Every message in the stream has been taken in (deliveries are created before the ack).
    await waitUntil(
      async () => {
        const info = await world.bus.jsm.consumers.info(names.STREAM_NAME, 'webhook-dispatcher');
        return (info.num_pending === 0 && info.num_ack_pending === 0) || undefined;
      },
      { what: 'the dispatcher to take in every event' },
    );
    await waitUntil(() => r.received.some((x) => (JSON.parse(x.body) as { id: string }).id === marker.id) || undefined, {
      what: 'the marker event',
    });
    const types = r.received.map((x) => (JSON.parse(x.body) as { type: string }).type);
    expect(types).toEqual(['lead.created']);
    expect((await deliveriesOf(ep.id, P3)).map((d) => d.event_type)).toEqual(['lead.created']);
  });

  it('refuses filters that can only match credential events (422 naming event_types)', async () => {
    for (const filter of ['api_key.*', 'oauth_client.created', 'webhook_endpoint.*', 'webhook_endpoint.secret_rotated']) {
      const res = await rpc.call('endpoints.create', partner(P1), {
        body: { url: 'http://127.0.0.1:9/x', event_types: ['lead.*', filter] },
      });
      expect(res.ok, filter).toBe(false);
      if (!res.ok) {
        expect(res.problem.status).toBe(422);
        expect(res.problem.errors).toEqual([expect.objectContaining({ path: expect.stringMatching(/^event_types/) })]);
      }
    }
    const types = (await rpc.ok('event-types.list', partner(P1))).data as { type: string; deliverable: boolean }[];
    expect(types.find((t) => t.type === 'api_key.created')?.deliverable).toBe(false);
    expect(types.find((t) => t.type === 'lead.created')?.deliverable).toBe(true);
  });

  it('retries on schedule, logs every attempt, exhausts with an event, and resend succeeds', async () => {
    const r = await receiver();
    r.setRespond((_x, res) => {
      res.statusCode = 500;
      res.end('boom'.repeat(2000));
    });
    const ep = await createEndpoint(P1, r.url);
    await publishBusiness(world.bus, P1, 'lead.updated');
    const d = await waitUntil(async () => (await deliveriesOf(ep.id, P1)).find((x) => x.status === 'failed'), { what: 'exhausted' });
    expect(d.attempts).toBe(3);
    const att = await attemptsOf(d.id, P1);
    expect(att.map((a) => [a.attempt, a.status_code, a.error_class])).toEqual([
      [1, 500, 'http_error'],
      [2, 500, 'http_error'],
      [3, 500, 'http_error'],
    ]);
    expect(att[0]?.response_excerpt?.length).toBe(4096);
    const t = att.map((a) => Date.parse(a.started_at));
    // Schedule 300 ms then 600 ms, ±20% jitter.
    expect((t[1] as number) - (t[0] as number)).toBeGreaterThanOrEqual(230);
    expect((t[2] as number) - (t[1] as number)).toBeGreaterThanOrEqual(470);
    const exhausted = await waitUntil(() =>
      world.bus.jsm.streams
        .getMessage(names.STREAM_NAME, { last_by_subj: `${names.SUBJECT_PREFIX}.agg.webhook_delivery.${d.id}` })
        .then((m) => m ?? undefined),
    );
    const ev = JSON.parse(new TextDecoder().decode(exhausted?.data));
    expect(ev).toMatchObject({
      type: 'webhook.delivery.exhausted',
      partnerid: P1,
      data: { delivery_id: d.id, endpoint_id: ep.id, attempts: 3 },
    });

    r.setRespond((_x, res) => {
      res.end('ok');
    });
    const job = await rpc.ok('deliveries.resend', partner(P1), { params: { id: d.id } });
    expect(job.kind).toBe('resend');
    expect((await waitJob(job.id, P1)).status).toBe('completed');
    const after = await waitUntil(async () => (await deliveriesOf(ep.id, P1)).find((x) => x.id === d.id && x.status === 'succeeded'));
    expect(after.attempts).toBe(4);
    expect(new Set(r.received.map((x) => x.id))).toEqual(new Set([d.id]));
  });

  it('recovers failed deliveries since a time and replays a time range to one endpoint', async () => {
    const r = await receiver();
    let fail = true;
    r.setRespond((_x, res) => {
      res.statusCode = fail ? 503 : 200;
      res.end();
    });
    const since = new Date(Date.now() - 1000).toISOString();
    const ep = await createEndpoint(P1, r.url, { event_types: ['lead.qualified'] });
    r.secrets.push(ep.secret);
    for (let i = 0; i < 3; i++) await publishBusiness(world.bus, P1, 'lead.qualified', { i });
    await waitUntil(async () => {
      const l = await deliveriesOf(ep.id, P1, { status: 'failed' });
      return l.length === 3 || undefined;
    });
    fail = false;
    const recover = await rpc.ok('endpoints.recover', partner(P1), { params: { id: ep.id }, body: { since } });
    const rj = await waitJob(recover.id, P1);
    expect(rj).toMatchObject({ status: 'completed', total: 3, processed: 3 });
    await waitUntil(async () => (await deliveriesOf(ep.id, P1, { status: 'succeeded' })).length === 3 || undefined);

    const before = r.received.length;
    const replay = await rpc.ok('endpoints.replay', partner(P1), { params: { id: ep.id }, body: { since } });
    const pj = await waitJob(replay.id, P1);
    expect(pj.status).toBe('completed');
    expect(pj.deliveries_created).toBe(3);
    await waitUntil(() => r.received.length >= before + 3 || undefined);
    const replayed = (await deliveriesOf(ep.id, P1)).filter((x) => x.replay_job_id === replay.id);
    expect(replayed).toHaveLength(3);
    expect(r.received.slice(before).every((x: Received) => x.verified)).toBe(true);
  });

  it('signs with both secrets during a rotation', async () => {
    const r = await receiver();
    const ep = await createEndpoint(P1, r.url, { event_types: ['user.created'] });
    const rotated = await rpc.ok('endpoints.rotate-secret', partner(P1), { params: { id: ep.id } });
    expect(rotated.previous_secret).toBe(ep.secret);
    expect(rotated.secret).not.toBe(ep.secret);
    r.secrets.push(ep.secret);
    await publishBusiness(world.bus, P1, 'user.created');
    await waitUntil(() => r.received.length >= 1 || undefined);
    const got = r.received[0] as Received;
    expect(got.signature.split(' ')).toHaveLength(2);
    expect(got.verified).toBe(true); // with the old secret
    r.secrets.splice(0, 1, rotated.secret);
    r.received.length = 0;
    await publishBusiness(world.bus, P1, 'user.created');
    await waitUntil(() => r.received.length >= 1 || undefined);
    expect(r.received[0]?.verified).toBe(true); // with the new secret
  });

  it('honours Retry-After within bounds', async () => {
    const r = await receiver();
    r.setRespond((_x, res) => {
      res.statusCode = r.received.length === 1 ? 429 : 200;
      if (r.received.length === 1) res.setHeader('retry-after', '2');
      res.end();
    });
    await createEndpoint(P1, r.url, { event_types: ['billing.*'] });
    await publishBusiness(world.bus, P1, 'billing.usage_updated');
    await waitUntil(() => r.received.length >= 2 || undefined, { timeoutMs: 10_000 });
    const gap = (r.received[1] as Received).at - (r.received[0] as Received).at;
    expect(gap).toBeGreaterThanOrEqual(1900); // not the 300 ms of the schedule
  });

  it('holds a per-endpoint rate limit', async () => {
    const r = await receiver();
    await createEndpoint(P1, r.url, { event_types: ['integration.*'], rate_limit_per_s: 5 });
    for (let i = 0; i < 15; i++) await publishBusiness(world.bus, P1, 'integration.connected', { i });
    await waitUntil(() => r.received.length >= 15 || undefined, { timeoutMs: 15_000 });
    const span = (r.received[14] as Received).at - (r.received[0] as Received).at;
    // 5 may go at once (burst), the other 10 at 5/s.
    expect(span).toBeGreaterThanOrEqual(1700);
  });

  it('disables an endpoint that answers 410 Gone, and one failing without success for the configured period', async () => {
    const gone = await receiver();
    gone.setRespond((_x, res) => {
      res.statusCode = 410;
      res.end();
    });
    const failing = await receiver();
    failing.setRespond((_x, res) => {
      res.statusCode = 500;
      res.end();
    });
    const epGone = await createEndpoint(P2, gone.url, { event_types: ['claim.*'] });
    const epFailing = await createEndpoint(P2, failing.url, { event_types: ['claim.*'] });
    await publishBusiness(world.bus, P2, 'claim.filed');
    const g = await waitUntil(async () => {
      const e = await rpc.ok('endpoints.get', partner(P2), { params: { id: epGone.id } });
      return e.enabled ? undefined : e;
    });
    expect(g.disabled_reason).toBe('gone');
    expect(gone.received).toHaveLength(1);
    // Keep the failing one failing past WEBHOOK_DISABLE_AFTER_MS (4 s).
    const pump = setInterval(() => void publishBusiness(world.bus, P2, 'claim.denied'), 700);
    try {
      const f = await waitUntil(
        async () => {
          const e = await rpc.ok('endpoints.get', partner(P2), { params: { id: epFailing.id } });
          return e.enabled ? undefined : e;
        },
        { timeoutMs: 15_000 },
      );
      expect(f.disabled_reason).toBe('failing');
    } finally {
      clearInterval(pump);
    }
    const n = failing.received.length;
    await publishBusiness(world.bus, P2, 'claim.denied');
    await new Promise((res) => setTimeout(res, 800));
    expect(failing.received.length).toBeLessThanOrEqual(n + 2); // only retries already claimed, nothing new
    const reenabled = await rpc.ok('endpoints.update', partner(P2), { params: { id: epGone.id }, body: { enabled: true } });
    expect(reenabled).toMatchObject({ enabled: true, disabled_reason: null });
  });
});
