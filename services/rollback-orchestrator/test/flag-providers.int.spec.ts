import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dropDatabase, ensureDatabase } from '@pep/db';
import { dbUrl, testNames } from '@pep/testing';
import { generateSecret, verifyWebhook } from '@pep/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callCustomWebhook } from '../src/providers/custom-webhook.ts';
import { createOutbound, ProviderError } from '../src/providers/http.ts';
import { toggleLaunchDarkly } from '../src/providers/launchdarkly.ts';
import { toggleUnleash } from '../src/providers/unleash.ts';

const names = testNames('flg');
const out = createOutbound({ allowlist: '127.0.0.1/32', httpsOnly: false });

async function listen(server: Server) {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * A fake LaunchDarkly REST API v2 following its published reference for semantic patch
 * (PATCH /api/v2/flags/{projectKey}/{featureFlagKey}): the Content-Type must carry
 * `domain-model=launchdarkly.semanticpatch`, the body `environmentKey` and `instructions`.
 */
function fakeLaunchDarkly(token: string) {
  const flags = new Map<string, boolean>([['default/new-pay', true]]);
  const errors: string[] = [];
  const server = createServer(async (req, res) => {
    let raw = '';
    for await (const c of req) raw += c;
    const m = /^\/api\/v2\/flags\/([^/]+)\/([^/]+)$/.exec(req.url ?? '');
    const fail = (status: number, code: string, message: string) => {
      errors.push(message);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code, message }));
    };
    if (req.headers.authorization !== token) return fail(401, 'unauthorized', 'Invalid access token');
    if (req.method !== 'PATCH' || !m) return fail(404, 'not_found', 'Unknown resource');
    if (req.headers['content-type'] !== 'application/json; domain-model=launchdarkly.semanticpatch')
      return fail(400, 'invalid_request', 'semantic patch content type required');
    const body = JSON.parse(raw) as { environmentKey?: string; instructions?: { kind: string }[] };
    if (!body.environmentKey || !Array.isArray(body.instructions) || body.instructions.length === 0)
      return fail(400, 'invalid_request', 'environmentKey and instructions are required');
    const key = `${m[1]}/${decodeURIComponent(m[2] as string)}`;
    if (!flags.has(key)) return fail(404, 'not_found', 'Unknown flag');
    for (const i of body.instructions) {
      if (i.kind === 'turnFlagOff') flags.set(key, false);
      else if (i.kind === 'turnFlagOn') flags.set(key, true);
      else return fail(400, 'invalid_request', `unsupported instruction ${i.kind}`);
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ key: m[2], environments: { [body.environmentKey]: { on: flags.get(key) } } }));
  });
  return { server, flags, errors };
}

describe('flag providers against their counterparts', () => {
  const ld = fakeLaunchDarkly('api-ld-token-123');
  let ldUrl = '';
  beforeAll(async () => {
    ldUrl = await listen(ld.server);
  });
  afterAll(async () => {
    ld.server.close();
    await out.close();
  });

  it('LaunchDarkly: turns the flag off and on with a semantic patch', async () => {
    const p = {
      baseUrl: ldUrl,
      token: 'api-ld-token-123',
      projectKey: 'default',
      environmentKey: 'production',
      flagKey: 'new-pay',
      comment: 'incident inc-1',
    };
    const off = await toggleLaunchDarkly(out, { ...p, on: false }, 2000);
    expect(ld.flags.get('default/new-pay')).toBe(false);
    expect(off.request).toContain('"instructions":[{"kind":"turnFlagOff"}]');
    await toggleLaunchDarkly(out, { ...p, on: true }, 2000);
    expect(ld.flags.get('default/new-pay')).toBe(true);
    await expect(toggleLaunchDarkly(out, { ...p, token: 'wrong-token-1', on: false }, 2000)).rejects.toThrow(/LaunchDarkly answered 401/);
    expect(ld.errors).toEqual(['Invalid access token']);
  });

  it('custom webhooks are signed like the dispatcher’s (Standard Webhooks) and verify with the secret', async () => {
    const secret = generateSecret();
    const got: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const server = createServer(async (req, res) => {
      let raw = '';
      for await (const c of req) raw += c;
      got.push({ headers: req.headers, body: raw });
      res.writeHead(204).end();
    });
    const url = await listen(server);
    try {
      await callCustomWebhook(
        out,
        { url: `${url}/hook`, secret, webhookId: 'inc_key_act_1_rollback', payload: { incident_id: 'inc-1' }, now: new Date() },
        2000,
      );
      const v = verifyWebhook({ headers: got[0]!.headers, body: got[0]!.body, secrets: [secret] });
      expect(v.id).toBe('inc_key_act_1_rollback');
      expect(() => verifyWebhook({ headers: got[0]!.headers, body: got[0]!.body, secrets: [generateSecret()] })).toThrow();
    } finally {
      server.close();
    }
  });

  it('refuses private addresses that the outbound allowlist does not name (SSRF)', async () => {
    const strict = createOutbound({ allowlist: '', httpsOnly: false });
    try {
      const err = await toggleUnleash(
        strict,
        { baseUrl: ldUrl, token: 't', project: 'default', environment: 'development', flagKey: 'x', on: false },
        1000,
      ).catch((e) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toMatch(/refused by the outbound allowlist|not allowed/);
      expect((err as ProviderError).retryable).toBe(false);
      expect(ld.errors).toHaveLength(1);
    } finally {
      await strict.close();
    }
  });

  describe('Unleash: a real unleash-server (npm) on loopback with this machine’s Postgres', () => {
    const url = dbUrl(names, 'unleash');
    const ADMIN = '*:*.pathcanary-test-admin-token-0123456789';
    let unleash: { stop(): Promise<void>; server: { address(): AddressInfo | string | null } } | undefined;
    let base = '';
    beforeAll(async () => {
      await ensureDatabase(url);
      const { start } = await import('unleash-server');
      const u = new URL(url);
      unleash = (await start({
        db: { host: u.hostname, port: Number(u.port), user: u.username, password: u.password, database: u.pathname.slice(1), ssl: false },
        server: { port: 0, host: '127.0.0.1' },
        authentication: {
          type: 'open-source',
          initApiTokens: [{ environment: '*', project: '*', secret: ADMIN, type: 'admin', tokenName: 'pathcanary' }],
        },
        logLevel: 'error',
      } as never)) as unknown as typeof unleash;
      base = `http://127.0.0.1:${(unleash!.server.address() as AddressInfo).port}`;
      const r = await fetch(`${base}/api/admin/projects/default/features`, {
        method: 'POST',
        headers: { authorization: ADMIN, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'new-pay' }),
      });
      expect(r.status).toBe(201);
    }, 120_000);
    afterAll(async () => {
      await unleash?.stop();
      await dropDatabase(url).catch(() => undefined);
    });
    const enabledIn = async (env: string) => {
      const r = await fetch(`${base}/api/admin/projects/default/features/new-pay`, { headers: { authorization: ADMIN } });
      const f = (await r.json()) as { environments: { name: string; enabled: boolean }[] };
      return f.environments.find((e) => e.name === env)?.enabled;
    };

    it('turns the feature on and off in one environment through the admin API', async () => {
      const p = { baseUrl: base, token: ADMIN, project: 'default', environment: 'development', flagKey: 'new-pay' };
      await toggleUnleash(out, { ...p, on: true }, 5000);
      expect(await enabledIn('development')).toBe(true);
      const off = await toggleUnleash(out, { ...p, on: false }, 5000);
      expect(off.request).toBe(`POST ${base}/api/admin/projects/default/features/new-pay/environments/development/off`);
      expect(await enabledIn('development')).toBe(false);
      expect(await enabledIn('production')).toBe(false);
      await expect(toggleUnleash(out, { ...p, token: 'bad-token-1234', on: true }, 5000)).rejects.toThrow(/Unleash answered 401/);
    });
  });
});
