// The mission of issue 5, end to end (item 8): a PathCanary incident comes in through the gateway; the
// rollback opens a revert pull request at the (OpenAPI-checked) fake GitHub, turns the flag off at the
// reference partner, and a webhook endpoint the partner subscribed receives the rollback's outcome, signed.
// Every platform part is its own process: gateway, partner-registry, webhook-dispatcher, rollback-orchestrator
// and github-bridge, on real NATS, Postgres and Redis.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  at,
  type Created,
  createTestBus,
  freePort,
  listAt,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import { verifyWebhook } from '@pep/webhooks';
import { Webhooks } from '@octokit/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReferencePartner, startReferencePartner } from '../../../tools/conformance/src/reference-partner.ts';
import { appKeys } from '../../github-bridge/test/support/bridge.ts';
import { type FakeGithub, startFakeGithub } from '../../github-bridge/test/fake-github/server.ts';

const names = testNames('mission');
const SERVICES = ['partner-registry', 'webhook-dispatcher', 'rollback-orchestrator', 'github-bridge'];
const PARTNER_TOKEN = 'acme-flag-token-123456';
const GH_SECRET = 'mission-github-secret';
const REPO = 'acme/shop';

let bus: Awaited<ReturnType<typeof createTestBus>>;
const procs: ServiceProcess[] = [];
let gatewayUrl = '';
let adminKey = '';
let partner: ReferencePartner;
let github: FakeGithub;
let receiver: Server;
let receiverUrl = '';
const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];

interface Reply {
  status: number;
  body: unknown;
}
async function call(
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  return { status: res.status, body: parsed };
}
async function must<T = Created>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await call(token, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}
/** The `type` of a webhook delivery's body (a CloudEvent). */
const typeOf = (body: string) => at(JSON.parse(body), 'type');

beforeAll(async () => {
  bus = await createTestBus(names, ['gateway', ...SERVICES]);
  partner = await startReferencePartner({ token: PARTNER_TOKEN });
  const keys = appKeys();
  github = await startFakeGithub({ appId: 99, publicKey: keys.publicKey });
  github.createRepo(REPO, { 'src/pay.ts': 'export const pay = () => "ok";\n' });
  github.commit(REPO, 'new-pay', { 'src/pay.ts': 'export const pay = () => { throw new Error("boom"); };\n' }, 'New payment flow');
  const pr = github.openPull(REPO, 'new-pay', 'New payment flow');
  github.merge(REPO, pr.number);

  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body: raw });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const secret = randomBytes(32).toString('hex');
  const common = { STREAM_MAX_AGE_HOURS: '2' };
  const env: Record<string, Record<string, string>> = {
    'partner-registry': { SSRF_ALLOW: '127.0.0.1/32' },
    'webhook-dispatcher': { WEBHOOK_SECRET_KEY: secret, WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8', WEBHOOK_POLL_MS: '50' },
    'rollback-orchestrator': { ROLLBACK_SECRETS_KEY: secret, OUTBOUND_ALLOWLIST: '127.0.0.1/32' },
    'github-bridge': {
      GITHUB_APP_ID: '99',
      GITHUB_PRIVATE_KEY: keys.privateKeyPem,
      GITHUB_WEBHOOK_SECRET: GH_SECRET,
      GITHUB_API_URL: github.url,
    },
  };
  await Promise.all(
    SERVICES.map(async (s) => {
      const port = await freePort();
      const p = spawnService(s, serviceEnv(names, { ...common, HEALTH_PORT: String(port), ...env[s] }));
      procs.push(p);
      await waitReady(`http://127.0.0.1:${port}/readyz`, p);
    }),
  );
  const port = await freePort();
  adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const gw = spawnService(
    'gateway',
    serviceEnv(names, { ...common, GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_ENABLED: 'false' }),
  );
  procs.push(gw);
  gatewayUrl = `http://127.0.0.1:${port}`;
  await waitReady(`${gatewayUrl}/readyz`, gw);
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  receiver?.close();
  await partner?.close();
  await github?.close();
  await bus?.cleanup();
});

describe('the mission: a PathCanary incident is rolled back, once, and its outcome reaches the partner', () => {
  it('reverts the pull request, turns the flag off, and delivers rollback.completed to the subscribed endpoint', async () => {
    const p = await must(adminKey, 'POST', '/v1/partners', { name: 'Acme', type: 'technology', contact_email: 'ops@acme.example.com' });
    await must(adminKey, 'POST', `/v1/partners/${p.id}/activate`, {});
    const key = (await must(adminKey, 'POST', `/v1/partners/${p.id}/api-keys`, { name: 'pathcanary', scopes: ['admin'] })).key as string;
    await waitUntil(async () => (await call(key, 'GET', `/v1/partners/${p.id}`)).status === 200);

    const endpoint = await must(key, 'POST', '/v1/webhook-endpoints', {
      url: `${receiverUrl}/hook`,
      event_types: ['rollback.*', 'incident.*'],
    });
    const policy = await must<unknown>(key, 'POST', '/v1/rollback/policies', {
      customer_id: 'shop-eu',
      mode: 'auto',
      providers: [{ id: 'acme', kind: 'partner_webhook', base_url: partner.url, token: PARTNER_TOKEN }],
      journeys: [
        { funnel: 'checkout', repositories: [{ repository: REPO, branch: 'main' }], flags: [{ provider_id: 'acme', flag_key: 'new-pay' }] },
      ],
    });
    expect(at(policy, 'providers', 0, 'token_set')).toBe(true);

    // GitHub tells the platform about the merge through the App webhook (raw route, signature verified).
    const raw = JSON.stringify({
      action: 'closed',
      pull_request: {
        number: 1,
        title: 'New payment flow',
        user: { login: 'dev-alice' },
        base: { ref: 'main' },
        head: { ref: 'new-pay' },
        html_url: `https://github.com/${REPO}/pull/1`,
        created_at: new Date(Date.now() - 7_200_000).toISOString(),
        merged: true,
        merged_at: new Date(Date.now() - 600_000).toISOString(),
        merge_commit_sha: github.repos.get(REPO)?.pulls.get(1)?.merge_commit_sha,
      },
      repository: { id: github.repos.get(REPO)?.id, full_name: REPO },
    });
    const ghHeaders = {
      'x-github-event': 'pull_request',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': await new Webhooks({ secret: GH_SECRET }).sign(raw),
    };
    const hook = await call(null, 'POST', '/v1/github/webhooks', raw, ghHeaders);
    expect(hook.status).toBe(202);
    expect((await call(null, 'POST', '/v1/github/webhooks', raw, { ...ghHeaders, 'x-hub-signature-256': 'sha256=00' })).status).toBe(401);
    await waitUntil(
      async () => at((await call(adminKey, 'GET', `/v1/github/repositories/acme/shop/insights`)).body, 'merged_pull_requests') === 1,
    );

    const accepted = await call(key, 'POST', '/v1/incidents', {
      incident_id: 'pc-checkout-1',
      customer_id: 'shop-eu',
      journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.example.com/checkout/pay' },
      severity: 'critical',
      detected_at: new Date().toISOString(),
      evidence: { screenshot_url: 'https://pathcanary.example.com/s/1.png', error: 'TypeError: boom' },
      suspects: { pull_requests: [`https://github.com/${REPO}/pull/1`], flags: ['new-pay'] },
    });
    expect(accepted.status).toBe(202);
    expect(listAt(accepted.body, 'actions').map((a) => at(a, 'kind'))).toEqual(['flag_off', 'revert_pr']);

    await waitUntil(() => partner.toggles.find((t) => t.incident_id === 'pc-checkout-1'), { what: 'the flag toggle' });
    expect(partner.flags.get('new-pay')).toBe(false);

    const done = await waitUntil(
      async () => {
        const r = await call(key, 'GET', '/v1/incidents/pc-checkout-1');
        return at(r.body, 'rollback', 'status') === 'completed' ? r.body : undefined;
      },
      { what: 'the rollback to complete', timeoutMs: 30_000 },
    );
    const revertAction = listAt(done, 'rollback', 'actions').find((a) => at(a, 'kind') === 'revert_pr');
    expect(at(revertAction, 'result')).toMatchObject({ branch: 'revert-1-pc-checkout-1', created: true });
    const revertPr = github.repos.get(REPO)?.pulls.get(Number(at(revertAction, 'result', 'revert_number')));
    expect(revertPr).toMatchObject({ head: 'revert-1-pc-checkout-1', base: 'main', state: 'open' });
    expect(revertPr?.body).toContain('pc-checkout-1');
    expect(github.fileAt(REPO, 'revert-1-pc-checkout-1', 'src/pay.ts')).toBe('export const pay = () => "ok";\n');
    expect(github.violations).toEqual([]);
    expect(listAt(done, 'timeline').map((t) => at(t, 'type'))).toEqual(
      expect.arrayContaining(['incident.opened', 'rollback.planned', 'rollback.action_succeeded', 'rollback.completed']),
    );

    const secret = (await must(key, 'GET', `/v1/webhook-endpoints/${endpoint.id}/secret`)).secret as string;
    const outcome = await waitUntil(() => received.find((r) => typeOf(r.body) === 'rollback.completed'), {
      what: 'rollback.completed at the subscribed endpoint',
      timeoutMs: 30_000,
    });
    expect(() => verifyWebhook({ headers: outcome.headers, body: outcome.body, secrets: [secret] })).not.toThrow();
    const ev: unknown = JSON.parse(outcome.body);
    expect(ev).toMatchObject({
      type: 'rollback.completed',
      partnerid: p.id,
      data: { incident_id: 'pc-checkout-1', succeeded: 2, failed: 0 },
    });
    expect(received.some((r) => typeOf(r.body) === 'incident.opened')).toBe(true);

    // Exactly once: the monitor retries the same incident; nothing runs again.
    const again = await call(key, 'POST', '/v1/incidents', {
      incident_id: 'pc-checkout-1',
      customer_id: 'shop-eu',
      journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.example.com/checkout/pay' },
      severity: 'critical',
      detected_at: new Date().toISOString(),
    });
    expect(again.status).toBe(202);
    expect(at(again.body, 'duplicate')).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(partner.toggles.filter((t) => t.incident_id === 'pc-checkout-1')).toHaveLength(1);
    expect([...(github.repos.get(REPO)?.pulls.values() ?? [])].filter((x) => x.head.startsWith('revert-1-'))).toHaveLength(1);
  });
});
