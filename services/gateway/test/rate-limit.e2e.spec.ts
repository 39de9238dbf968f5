import type { Partner } from '@pep/contracts';
import { createTestBus, type ServiceProcess, serviceEnv, spawnService, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from './support/gateway.ts';

const names = testNames('ratelim');
const LIMITS = { RATE_LIMIT_STANDARD_PER_MIN: '60', RATE_LIMIT_PREMIUM_PER_MIN: '600' };
let bus: Awaited<ReturnType<typeof createTestBus>>;
let registry: ServiceProcess;
let gateways: Awaited<ReturnType<typeof startGateway>>[] = [];

const get = async (base: string, path: string, token: string) => {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res;
};
const admin = async (method: string, path: string, body?: unknown) => {
  const gw = gateways[0] as (typeof gateways)[number];
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { ...gw.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

async function partnerWithKey(name: string, keyBody: Record<string, unknown> = {}): Promise<{ partner: Partner; key: string }> {
  const p = (await admin('POST', '/v1/partners', { name, type: 'reseller', contact_email: 'ops@example.com' })).body as Partner;
  await admin('POST', `/v1/partners/${p.id}/activate`, {});
  const k = await admin('POST', `/v1/partners/${p.id}/api-keys`, { name: 'k', scopes: ['read:*'], ...keyBody });
  expect(k.status).toBe(201);
  return { partner: p, key: k.body.key as string };
}

beforeAll(async () => {
  bus = await createTestBus(names, ['gateway', 'partner-registry']);
  registry = spawnService('partner-registry', serviceEnv(names, { HEALTH_PORT: '0' }));
  gateways = await Promise.all([startGateway(names, LIMITS), startGateway(names, LIMITS)]);
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.proc.stop()));
  await registry?.stop();
  await bus?.cleanup();
});

describe('rate limits shared across gateway replicas', () => {
  it('two gateway processes together admit no more than the partner tier allows', async () => {
    const { partner, key } = await partnerWithKey('Busy Co');
    const path = `/v1/partners/${partner.id}`;
    let admitted = 0;
    // The key becomes known to both replicas (these requests count against the limit too).
    for (const gw of gateways) {
      await waitUntil(async () => {
        const r = await get(gw.url, path, key);
        if (r.status === 200) admitted++;
        return r.status === 200;
      });
    }
    const start = Date.now();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    let policy: string | null = null;
    const total = 160;
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < total) {
          const i = next++;
          const r = await get((gateways[i % 2] as (typeof gateways)[number]).url, path, key);
          statuses.push(r.status);
          policy ??= r.headers.get('ratelimit-policy');
          if (r.status === 429) retryAfter ??= r.headers.get('retry-after');
        }
      }),
    );
    const elapsedS = (Date.now() - start) / 1000;
    admitted += statuses.filter((s) => s === 200).length;
    const refused = statuses.filter((s) => s === 429).length;
    // Capacity 60, refilling at 1/s: the combined admissions cannot exceed that, whatever the replica.
    expect(admitted).toBeLessThanOrEqual(60 + Math.ceil(elapsedS) + 1);
    expect(admitted).toBeGreaterThanOrEqual(50);
    expect(refused).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(policy).toBe('"partner";q=60;w=60');
  });

  it('answers 429 with Retry-After and RateLimit headers, and applies a per-key cap below the tier', async () => {
    const { partner, key } = await partnerWithKey('Capped Co', { rate_limit_per_minute: 3 });
    const path = `/v1/partners/${partner.id}`;
    const gw = gateways[1] as (typeof gateways)[number];
    await waitUntil(async () => (await get(gw.url, path, key)).status === 200);
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await get(gw.url, path, key);
      if (last.status === 429) break;
    }
    expect(last?.status).toBe(429);
    expect(last?.headers.get('content-type')).toMatch(/problem\+json/);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(last?.headers.get('ratelimit-policy')).toBe('"partner";q=60;w=60, "credential";q=3;w=60');
    expect(last?.headers.get('ratelimit')).toMatch(/^"credential";r=0;t=\d+$/);
  });

  it('takes the limit from the partner tier (premium after an upgrade)', async () => {
    const { partner, key } = await partnerWithKey('Growing Co');
    expect((await admin('PATCH', `/v1/partners/${partner.id}`, { tier: 'premium' })).status).toBe(200);
    const gw = gateways[0] as (typeof gateways)[number];
    await waitUntil(
      async () => (await get(gw.url, `/v1/partners/${partner.id}`, key)).headers.get('ratelimit-policy') === '"partner";q=600;w=60',
    );
  });
});
