// The gateway's real usage rollup reaches billing: requests of a partner's API key through a running gateway
// become an `api_usage.rolled_up` event (appended when the gateway stops, nothing it counted is lost) and an
// `api_requests` usage row; the same rollup sent again is dropped by its deterministic id.
import { randomBytes } from 'node:crypto';
import type { PlatformEvent } from '@pep/contracts';
import { dropDatabase } from '@pep/db';
import { aggregateFilter, aggregateSubject, publishEvent } from '@pep/events';
import {
  bestEffort,
  bodyOf,
  dbUrl,
  freePort,
  newPartner,
  readAll,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USAGE_PROJECTION } from '../src/projections/usage/index.ts';
import { admin, startBillingProcess } from './support/billing.ts';

const names = testNames('gwusage');
let billing: Awaited<ReturnType<typeof startBillingProcess>>;
let registry: ServiceProcess;
let gateway: ServiceProcess;
let url: string;
const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;

async function http(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: bodyOf(await res.text()) };
}

beforeAll(async () => {
  billing = await startBillingProcess(names);
  const registryHealth = await freePort();
  registry = spawnService('partner-registry', serviceEnv(names, { HEALTH_PORT: String(registryHealth) }));
  await waitReady(`http://127.0.0.1:${registryHealth}/readyz`, registry);
  const port = await freePort();
  gateway = spawnService(
    'gateway',
    serviceEnv(names, { GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, GATEWAY_REPLICA_ID: 'gwtest' }),
  );
  url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, gateway);
});
afterAll(async () => {
  await gateway?.stop();
  await registry?.stop();
  await billing?.stop();
  for (const s of ['gateway', 'partner-registry']) await bestEffort(`drop ${s}`, dropDatabase(dbUrl(names, s)));
});

describe('gateway usage rollups → billing', () => {
  it("counts a partner key's requests into api_requests, once", async () => {
    const api = async <T>(method: string, path: string, body?: unknown) => {
      const r = await http(adminKey, method, path, body);
      if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as T;
    };
    const partner = await newPartner(api, 'Usage Co');
    const key = partner.key as string;
    // The gateway folds the new key from the stream: wait until it authenticates.
    await waitUntil(async () => (await http(key, 'GET', `/v1/partners/${partner.id}`)).status === 200, { what: 'the key to work' });
    for (let i = 0; i < 3; i++) expect((await http(key, 'GET', `/v1/partners/${partner.id}`)).status).toBe(200);
    expect((await http(key, 'GET', '/v1/partners/prt_0000000000000000000000none')).status).toBeGreaterThanOrEqual(400);
    await http(adminKey, 'GET', `/v1/partners/${partner.id}`); // an admin's request is nobody's usage

    expect(await gateway.stop()).toBe(0); // SIGTERM: the open minute is appended before the gateway exits

    const rollups = (await readAll(billing.bus, aggregateFilter(names.SUBJECT_PREFIX, 'api_usage'))).filter(
      (e) => e.partnerid === partner.id,
    );
    const total = rollups.reduce((n, e) => n + (e.data as { requests: number }).requests, 0);
    expect(total).toBeGreaterThanOrEqual(5); // the waits plus the four requests above (at least one wait)
    for (const e of rollups) {
      const d = e.data as { minute: string; reporter: string; by_credential: Record<string, { requests: number; errors: number }> };
      expect(e.id).toBe(`apiu_${partner.id}_${d.minute.slice(0, 16).replace(/\D/g, '')}_${d.reporter}`);
      expect(d.reporter).toMatch(/^gwtest(-s\d\d)?$/);
      expect(Object.keys(d.by_credential)).toEqual([partner.keyId]);
    }
    const errors = rollups.reduce((n, e) => n + ((e.data as { by_status: Record<string, number> }).by_status['4xx'] ?? 0), 0);
    expect(errors).toBeGreaterThanOrEqual(1);

    await billing.caughtUp(USAGE_PROJECTION);
    const day = new Date().toISOString().slice(0, 10);
    const usage = async () =>
      (
        await billing.ok<{ data: { value: number }[] }>('usage.get', admin, {
          query: { partner_id: partner.id, meter: 'api_requests', window: 'day', from: `${day}T00:00:00Z` },
        })
      ).data.reduce((n, b) => n + b.value, 0);
    expect(await usage()).toBe(total);

    // A re-flush of the same rollup (a retried append) has the same id: the stream drops it, usage does not double.
    const again = await publishEvent(
      billing.bus,
      aggregateSubject(names.SUBJECT_PREFIX, 'api_usage', partner.id),
      rollups[0] as PlatformEvent,
    );
    expect(again.duplicate).toBe(true);
    await billing.caughtUp(USAGE_PROJECTION);
    expect(await usage()).toBe(total);
  });
});
