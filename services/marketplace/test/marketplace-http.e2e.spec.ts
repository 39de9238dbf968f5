import { randomBytes } from 'node:crypto';
import { aggregateSubject, appendToAggregate } from '@pep/events';
import { createTestBus, freePort, type ServiceProcess, serviceEnv, spawnService, testNames, waitReady, waitUntil } from '@pep/testing';
import { Agent, fetch as fetchVia } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope } from './support/marketplace.ts';

// The marketplace as its own process behind the real gateway: public (anonymous) search and listing reads,
// admin-only installs with Idempotency-Key, and the contract's validation at the edge.
const names = testNames('mkthttp');
let bus: Awaited<ReturnType<typeof createTestBus>>;
const procs: ServiceProcess[] = [];
let url: string;
let limitedUrl: string;
let adminKey: string;

async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(url + path, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.headers ?? {}),
    },
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  bus = await createTestBus(names, ['gateway', 'marketplace']);
  const port = await freePort();
  const health = await freePort();
  adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const common = { STREAM_MAX_AGE_HOURS: '2' };
  const mk = spawnService('marketplace', serviceEnv(names, { ...common, HEALTH_PORT: String(health) }));
  const gw = spawnService(
    'gateway',
    serviceEnv(names, { ...common, GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_ENABLED: 'false' }),
  );
  // A second gateway with rate limits on: anonymous public reads are limited per client address.
  const limitedPort = await freePort();
  const limited = spawnService(
    'gateway',
    serviceEnv(names, { ...common, GATEWAY_PORT: String(limitedPort), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_PUBLIC_PER_MIN: '10' }),
  );
  procs.push(mk, gw, limited);
  url = `http://127.0.0.1:${port}`;
  limitedUrl = `http://127.0.0.1:${limitedPort}`;
  await Promise.all([
    waitReady(`http://127.0.0.1:${health}/readyz`, mk),
    waitReady(`${url}/readyz`, gw),
    waitReady(`${limitedUrl}/readyz`, limited),
  ]);

  const append = (kind: string, id: string, e: ReturnType<typeof envelope>) =>
    appendToAggregate(bus.bus, aggregateSubject(names.SUBJECT_PREFIX, kind, id), 0, [e]);
  await append(
    'partner',
    'prt_httpx000000000000000000000',
    envelope('partner.created', {
      partner_id: 'prt_httpx000000000000000000000',
      name: 'Acme',
      type: 'technology',
      contact_email: 'a@example.com',
      tier: 'standard',
    }),
  );
  await append(
    'application',
    'app_httpx000000000000000000000',
    envelope(
      'application.published',
      {
        application_id: 'app_httpx000000000000000000000',
        partner_id: 'prt_httpx000000000000000000000',
        status: 'published',
        name: 'Acme Lead Router',
        description: 'Routes every new lead to the right sales rep.',
        redirect_uris: [],
        scopes: [],
        webhook_url: null,
        health_url: null,
        privacy_url: null,
        terms_url: null,
        published_at: new Date().toISOString(),
      },
      'prt_httpx000000000000000000000',
    ),
  );
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await bus?.cleanup();
});

describe('marketplace over HTTP', () => {
  it('lets anyone search without a credential, typos and filters included', async () => {
    const r = await waitUntil(
      async () => {
        const x = await call('GET', '/v1/marketplace/listings?q=Acme%20Lead%20Ruoter&official=true');
        return x.status === 200 && x.body.data.length > 0 ? x : undefined;
      },
      { what: 'the listing to be searchable' },
    );
    expect(r.body.data[0]).toMatchObject({ object: 'listing', name: 'Acme Lead Router', official: true, partner_name: 'Acme' });
    expect(r.body.facets.official).toEqual([{ value: 'true', count: 1 }]);
    const none = await call('GET', '/v1/marketplace/listings?official=false');
    expect(none.status).toBe(200);
    expect(none.body.total).toBe(0);
    const one = await call('GET', `/v1/marketplace/listings/${r.body.data[0].id}`);
    expect(one.status).toBe(200);
    expect(one.body.id).toBe(r.body.data[0].id);
  });

  it('answers bad input with problem+json naming the field', async () => {
    const r = await call('GET', '/v1/marketplace/listings?sort=loudest&limit=1000');
    expect(r.status).toBe(422);
    expect(r.type).toContain('application/problem+json');
    const paths = (r.body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['sort', 'limit']));
    expect((await call('GET', '/v1/marketplace/listings/lst_m1ss1ngx000000000000000000')).status).toBe(404);
  });

  it('limits anonymous public reads per client address (429 with Retry-After), not other addresses or credentials', async () => {
    const fromAddress = (address: string) => new Agent({ localAddress: address });
    const a = fromAddress('127.0.0.1');
    const b = fromAddress('127.0.0.2');
    const get = async (agent: Agent, token?: string) => {
      const res = await fetchVia(`${limitedUrl}/v1/marketplace/listings?q=acme`, {
        dispatcher: agent,
        ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        policy: res.headers.get('ratelimit-policy'),
        type: res.headers.get('content-type'),
        body: await res.text(),
      };
    };
    const first = await get(a);
    expect(first.status).toBe(200);
    expect(first.policy).toBe('"address";q=10;w=60');
    const answers = [];
    for (let i = 0; i < 15; i++) answers.push(await get(a));
    const refused = answers.find((r) => r.status === 429);
    expect(refused).toBeDefined();
    expect(Number(refused?.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused?.type).toContain('application/problem+json');
    expect((await get(b)).status).toBe(200);
    expect((await get(a, adminKey)).status).toBe(200);
    await Promise.all([a.close(), b.close()]);
  });

  it('installs only with the admin credential, idempotently', async () => {
    const id = 'lst_httpx000000000000000000000';
    expect((await call('POST', `/v1/marketplace/listings/${id}/installs`, { body: { customer_id: 'cus_h' } })).status).toBe(401);
    const key = `idem-${randomBytes(4).toString('hex')}`;
    const first = await call('POST', `/v1/marketplace/listings/${id}/installs`, {
      token: adminKey,
      body: { customer_id: 'cus_h' },
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      object: 'install',
      status: 'active',
      customer_id: 'cus_h',
      partner_id: 'prt_httpx000000000000000000000',
    });
    const again = await call('POST', `/v1/marketplace/listings/${id}/installs`, { token: adminKey, body: { customer_id: 'cus_h' } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const listing = await call('GET', `/v1/marketplace/listings/${id}`);
    expect(listing.body.active_installs).toBe(1);
    const gone = await call('DELETE', `/v1/marketplace/listings/${id}/installs/cus_h`, { token: adminKey });
    expect(gone.status).toBe(200);
    expect(gone.body.status).toBe('removed');
  });
});
