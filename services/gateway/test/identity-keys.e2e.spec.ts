import type { ApiKey, Partner } from '@pep/contracts';
import { createDb } from '@pep/db';
import type { GatewayDB } from '../src/db/schema.ts';
import { createTestBus, dbUrl, type ServiceProcess, serviceEnv, spawnService, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startGateway } from './support/gateway.ts';

const names = testNames('gwkeys');
let bus: Awaited<ReturnType<typeof createTestBus>>;
let registry: ServiceProcess;
let gw: Awaited<ReturnType<typeof startGateway>>;

const { call, admin, activePartner } = apiClient(() => gw);

/**
 * Waits (bounded) until `path` answers `status` with this key: the property is that the gateway comes to
 * answer so; how fast it does is measured in bench/, not asserted here.
 */
async function answers(token: string, path: string, status: number): Promise<void> {
  await waitUntil(async () => (await call('GET', path, token)).status === status, {
    timeoutMs: 5000,
    intervalMs: 10,
    what: `${path} → ${status}`,
  });
}

beforeAll(async () => {
  bus = await createTestBus(names, ['gateway', 'partner-registry']);
  registry = spawnService('partner-registry', serviceEnv(names, { HEALTH_PORT: '0' }));
  gw = await startGateway(names, { IDENTITY_USAGE_FLUSH_MS: '200', RATE_LIMIT_ENABLED: 'false' });
});
afterAll(async () => {
  await gw?.proc.stop();
  await registry?.stop();
  await bus?.cleanup();
});

describe('API keys at the gateway', () => {
  let partner: Partner;
  let key: ApiKey & { key: string };

  it('issues a key once and authenticates API calls with it, with its scopes', async () => {
    partner = await activePartner('Keys Inc');
    const created = await admin('POST', `/v1/partners/${partner.id}/api-keys`, { name: 'server', scopes: ['read:*', 'manage:api_keys'] });
    expect(created.status).toBe(201);
    key = created.body;
    expect(key.key).toMatch(/^pk_live_[0-9A-Za-z]{38}$/);
    await answers(key.key, `/v1/partners/${partner.id}`, 200);
    const listed = await call('GET', `/v1/partners/${partner.id}/api-keys`, key.key);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((k: ApiKey) => k.id)).toContain(key.id);
    expect(JSON.stringify(listed.body)).not.toContain(key.key);
    // Scope check: read:* does not allow a write.
    expect((await call('PATCH', `/v1/partners/${partner.id}`, key.key, { name: 'X' })).status).toBe(403);
  });

  it('refuses a mistyped key (checksum) and an unknown one with 401 and WWW-Authenticate', async () => {
    const i = 12;
    const typo = key.key.slice(0, i) + (key.key[i] === 'a' ? 'b' : 'a') + key.key.slice(i + 1);
    const r = await call('GET', `/v1/partners/${partner.id}`, typo);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(r.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('records last use in batches', async () => {
    const used = await waitUntil(
      async () => {
        const r = await call('GET', `/v1/api-keys/${key.id}`, key.key);
        return r.body?.last_used_at ? (r.body as ApiKey) : undefined;
      },
      { timeoutMs: 10_000, what: 'last_used_at' },
    );
    // The recorded use is one of this test's calls: after the key was issued, not later than now.
    const lastUsed = Date.parse(used.last_used_at ?? '');
    expect(lastUsed).toBeGreaterThanOrEqual(Date.parse(key.created_at));
    expect(lastUsed).toBeLessThanOrEqual(Date.now());
    expect(used).toMatchObject({ id: key.id, status: 'active' });
  });

  it('rotates: the new secret works at once and the previous one only within the overlap', async () => {
    const rotated = await call('POST', `/v1/api-keys/${key.id}/rotate`, key.key, { overlap_hours: 1 });
    expect(rotated.status).toBe(200);
    await answers(rotated.body.key, `/v1/partners/${partner.id}`, 200);
    expect((await call('GET', `/v1/partners/${partner.id}`, key.key)).status).toBe(200);
    const again = await call('POST', `/v1/api-keys/${key.id}/rotate`, rotated.body.key, { overlap_hours: 0 });
    expect(again.status).toBe(200);
    await answers(rotated.body.key, `/v1/partners/${partner.id}`, 401);
    expect((await call('GET', `/v1/partners/${partner.id}`, key.key)).status).toBe(401);
    key = { ...key, key: again.body.key };
  });

  it('refuses a revoked key once it is revoked', async () => {
    const other = await admin('POST', `/v1/partners/${partner.id}/api-keys`, { name: 'doomed', scopes: ['read:partners'] });
    await answers(other.body.key, `/v1/partners/${partner.id}`, 200);
    const revoked = await call('DELETE', `/v1/api-keys/${other.body.id}`, key.key);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    await answers(other.body.key, `/v1/partners/${partner.id}`, 401);
    const refused = await call('GET', `/v1/partners/${partner.id}`, other.body.key);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it("stops a suspended partner's keys, and lets them work again on reactivation", async () => {
    const p = await activePartner('Suspended Ltd');
    const k = await admin('POST', `/v1/partners/${p.id}/api-keys`, { name: 's', scopes: ['read:*'] });
    await answers(k.body.key, `/v1/partners/${p.id}`, 200);
    expect((await admin('POST', `/v1/partners/${p.id}/suspend`, { reason: 'unpaid invoice' })).status).toBe(200);
    await answers(k.body.key, `/v1/partners/${p.id}`, 401);
    expect((await admin('POST', `/v1/partners/${p.id}/activate`, {})).status).toBe(200);
    await answers(k.body.key, `/v1/partners/${p.id}`, 200);
  });

  it('after a restart the gateway authenticates from its persisted projection', async () => {
    const db = createDb<GatewayDB>(dbUrl(names, 'gateway'));
    try {
      const rows = await db.selectFrom('gw_identity_api_keys').select('id').execute();
      expect(rows.map((r) => r.id)).toContain(key.id);
      const cp = await db.selectFrom('projection_checkpoints').select('seq').where('name', '=', 'gateway-identity').executeTakeFirst();
      expect(cp?.seq).toBeGreaterThan(0);
    } finally {
      await db.destroy();
    }
    await gw.proc.stop();
    gw = await startGateway(names, { IDENTITY_USAGE_FLUSH_MS: '200', RATE_LIMIT_ENABLED: 'false' });
    const r = await call('GET', `/v1/partners/${partner.id}`, key.key);
    expect(r.status).toBe(200);
  });
});
