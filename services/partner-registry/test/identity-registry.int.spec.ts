import { type ApiKey, hashSecret, type OAuthClient, type Partner, type Principal, type RpcReply, type RpcRequest } from '@pep/contracts';
import { aggregateFilter, aggregateSubject, appendToAggregate } from '@pep/events';
import { createLogger } from '@pep/runtime';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityHandlers } from '../src/handlers/identity.ts';
import { findApiKey } from '../src/projections/identity-api-keys/index.ts';
import { admin, type Registry, startRegistry, statusOf } from './support/registry.ts';
import { envelope, readAll } from './support/stream.ts';

const names = testNames('idreg');
let reg: Registry;
let identity: ReturnType<typeof identityHandlers>;
let n = 0;

const call = (pattern: string, principal: Principal, req: { params?: Record<string, string>; body?: unknown; query?: unknown } = {}) => {
  const fn = identity[pattern];
  if (!fn) throw new Error(`no handler ${pattern}`);
  const r: RpcRequest = {
    principal,
    params: req.params ?? {},
    query: (req.query ?? {}) as Record<string, unknown>,
    body: req.body,
    request_id: `req_${++n}`,
  };
  return fn(r);
};
const okBody = <T>(r: RpcReply): T => {
  if (!r.ok) throw new Error(JSON.stringify(r.problem));
  return r.body as T;
};
const keyHolder = (partnerId: string, scopes = ['manage:*', 'read:*']): Principal => ({
  kind: 'partner',
  partner_id: partnerId,
  scopes,
  credential_id: `key_of_${partnerId}`,
});

async function newPartner(name: string): Promise<Partner> {
  const p = await reg.ok<Partner>('partners.create', admin, { body: { name, type: 'technology', contact_email: 'ops@example.com' } });
  await reg.ok('partners.activate', admin, { params: { id: p.id } });
  return p;
}

let a: Partner;
let b: Partner;

beforeAll(async () => {
  reg = await startRegistry(names);
  identity = identityHandlers({
    db: reg.db,
    commands: reg.commands,
    logger: createLogger('test', 'silent'),
    config: {} as never,
    now: () => new Date(),
    bus: reg.bus,
  });
  a = await newPartner('Alpha');
  b = await newPartner('Beta');
});
afterAll(async () => {
  await reg?.stop();
});

describe('API keys in the registry', () => {
  it('shows the key once; the event and the read model carry only its hash', async () => {
    const created = okBody<ApiKey & { key: string }>(
      await call('api-keys.create', keyHolder(a.id), { params: { id: a.id }, body: { name: 'ci', scopes: ['read:*'] } }),
    );
    expect(created).toMatchObject({ object: 'api_key', partner_id: a.id, status: 'active', scopes: ['read:*'] });
    expect(created.key.startsWith('pk_live_')).toBe(true);
    const events = await readAll(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, 'api_key', created.id));
    expect(events.map((e) => e.type)).toEqual(['api_key.created']);
    expect(JSON.stringify(events)).not.toContain(created.key);
    expect(events[0]?.data).toMatchObject({ hash: hashSecret(created.key) });
    expect(events[0]?.data).not.toHaveProperty('key');
    const listed = okBody<{ data: ApiKey[] }>(await call('api-keys.list', keyHolder(a.id), { params: { id: a.id } }));
    expect(listed.data.map((k) => k.id)).toContain(created.id);
    expect(JSON.stringify(listed)).not.toContain(created.key);
  });

  it("refuses scopes beyond the caller's own, and keys for a suspended partner", async () => {
    const r = await call('api-keys.create', keyHolder(a.id, ['manage:api_keys']), {
      params: { id: a.id },
      body: { name: 'x', scopes: ['admin'] },
    });
    expect(statusOf(r)).toBe(422);
    const c = await newPartner('Gamma');
    await reg.ok('partners.suspend', admin, { params: { id: c.id }, body: { reason: 'unpaid' } });
    expect(statusOf(await call('api-keys.create', admin, { params: { id: c.id }, body: { name: 'x', scopes: ['read:*'] } }))).toBe(409);
  });

  it('rotates with an overlap, revokes, and records usage in batches', async () => {
    const created = okBody<ApiKey & { key: string }>(
      await call('api-keys.create', admin, { params: { id: a.id }, body: { name: 'rot', scopes: ['write:*'] } }),
    );
    const rotated = okBody<ApiKey & { key: string }>(
      await call('api-keys.rotate', keyHolder(a.id), { params: { id: created.id }, body: { overlap_hours: 1 } }),
    );
    expect(rotated.key).not.toBe(created.key);
    expect(Date.parse(rotated.previous_secret_valid_until ?? '')).toBeGreaterThan(Date.now() + 3_500_000);
    const used = new Date().toISOString();
    const usage = okBody<{ recorded: number }>(
      await call('api-keys.record-usage', admin, { body: { entries: [{ api_key_id: created.id, used_at: used }] } }),
    );
    expect(usage.recorded).toBe(1);
    expect((await findApiKey(reg.db, created.id))?.last_used_at).toBe(used);
    const again = okBody<{ recorded: number }>(
      await call('api-keys.record-usage', admin, { body: { entries: [{ api_key_id: created.id, used_at: new Date().toISOString() }] } }),
    );
    expect(again.recorded).toBe(0);
    const revoked = okBody<ApiKey>(await call('api-keys.revoke', keyHolder(a.id), { params: { id: created.id } }));
    expect(revoked.status).toBe('revoked');
    expect(statusOf(await call('api-keys.rotate', keyHolder(a.id), { params: { id: created.id } }))).toBe(409);
    expect(statusOf(await call('api-keys.record-usage', keyHolder(a.id), { body: { entries: [] } }))).toBe(403);
  });

  it('answers 404 to another partner for every key route, and changes nothing', async () => {
    const created = okBody<ApiKey & { key: string }>(
      await call('api-keys.create', admin, { params: { id: a.id }, body: { name: 'mine', scopes: ['read:*'] } }),
    );
    const before = (await readAll(reg.bus, aggregateFilter(names.SUBJECT_PREFIX, 'api_key'))).length;
    const intruder = keyHolder(b.id, ['admin']);
    for (const [pattern, req] of [
      ['api-keys.create', { params: { id: a.id }, body: { name: 'x', scopes: ['read:*'] } }],
      ['api-keys.list', { params: { id: a.id } }],
      ['api-keys.get', { params: { id: created.id } }],
      ['api-keys.rotate', { params: { id: created.id } }],
      ['api-keys.revoke', { params: { id: created.id } }],
    ] as const) {
      expect(statusOf(await call(pattern, intruder, req)), pattern).toBe(404);
    }
    expect((await readAll(reg.bus, aggregateFilter(names.SUBJECT_PREFIX, 'api_key'))).length).toBe(before);
  });
});

describe('OAuth clients in the registry', () => {
  const appId = 'app_idreg1';
  beforeAll(async () => {
    await appendToAggregate(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, 'application', appId), 0, [
      envelope('application.created', { application_id: appId, partner_id: a.id, name: 'Alpha app' }, a.id),
    ]);
  });

  it('creates a confidential client whose secret is shown once and kept as a hash', async () => {
    const c = okBody<OAuthClient & { client_secret?: string }>(
      await call('oauth-clients.create', keyHolder(a.id), {
        params: { id: appId },
        body: { type: 'confidential', redirect_uris: ['https://alpha.example.com/cb'], scopes: ['read:*'] },
      }),
    );
    expect(c.client_secret?.startsWith('pcs_')).toBe(true);
    const events = await readAll(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, 'oauth_client', c.client_id));
    expect(JSON.stringify(events)).not.toContain(c.client_secret);
    expect(events[0]?.data).toMatchObject({ secret_hash: hashSecret(c.client_secret as string) });
    const listed = okBody<{ data: OAuthClient[] }>(await call('oauth-clients.list', keyHolder(a.id), { params: { id: appId } }));
    expect(listed.data.map((x) => x.client_id)).toEqual([c.client_id]);
    const pub = okBody<OAuthClient & { client_secret?: string }>(
      await call('oauth-clients.create', admin, {
        params: { id: appId },
        body: { type: 'public', redirect_uris: ['http://127.0.0.1:3000/cb'], scopes: ['read:partners'] },
      }),
    );
    expect(pub.client_secret).toBeUndefined();
    // Another partner: 404 on every client route.
    const intruder = keyHolder(b.id, ['admin']);
    expect(
      statusOf(
        await call('oauth-clients.create', intruder, {
          params: { id: appId },
          body: { type: 'public', redirect_uris: [], scopes: ['read:*'] },
        }),
      ),
    ).toBe(404);
    expect(statusOf(await call('oauth-clients.list', intruder, { params: { id: appId } }))).toBe(404);
    expect(statusOf(await call('oauth-clients.get', intruder, { params: { id: c.client_id } }))).toBe(404);
    expect(statusOf(await call('oauth-clients.revoke', intruder, { params: { id: c.client_id } }))).toBe(404);
    const revoked = okBody<OAuthClient>(await call('oauth-clients.revoke', keyHolder(a.id), { params: { id: c.client_id } }));
    expect(revoked.status).toBe('revoked');
  });

  it('names the bad field: a public client without redirect URIs, an unknown application', async () => {
    const r = await call('oauth-clients.create', admin, {
      params: { id: appId },
      body: { type: 'public', redirect_uris: [], scopes: ['read:*'] },
    });
    expect(r.ok ? undefined : r.problem.errors).toEqual([expect.objectContaining({ path: 'redirect_uris' })]);
    expect(
      statusOf(
        await call('oauth-clients.create', admin, {
          params: { id: 'app_nope' },
          body: { type: 'public', redirect_uris: [], scopes: ['read:*'] },
        }),
      ),
    ).toBe(404);
  });
});
