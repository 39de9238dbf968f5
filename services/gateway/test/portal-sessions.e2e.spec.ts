import type { Partner, SignedIn } from '@pep/contracts';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { createTestBus, type ServiceProcess, serviceEnv, spawnService, testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startGateway } from './support/gateway.ts';

const names = testNames('gwsess');
let bus: Awaited<ReturnType<typeof createTestBus>>;
let registry: ServiceProcess;
let smtp: TestSmtpServer;
let gw: Awaited<ReturnType<typeof startGateway>>;
const { admin, activePartner } = apiClient(() => gw);

interface Browser {
  cookie: string;
  csrf: string;
}
/** A request as the portal makes it: the cookie, and for writes the CSRF header and this site's Origin. */
async function portal(b: Browser | undefined, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { origin: gw.url, ...extra };
  if (b) {
    headers.cookie = b.cookie;
    if (method !== 'GET') headers['x-csrf-token'] = b.csrf;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${gw.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
const tokenIn = (text: string) => decodeURIComponent(/#token=([^\s"<]+)/.exec(text)?.[1] ?? '');

/** Invites `email` with `role` (admin key), reads the email, accepts it: a signed-in browser. */
async function member(
  partner: Partner,
  email: string,
  role: string,
): Promise<Browser & { setCookie: string; body: SignedIn & { session_secret?: string } }> {
  expect((await admin('POST', `/v1/partners/${partner.id}/users`, { email, role })).status).toBe(201);
  const mail = await smtp.waitFor((m) => m.to.includes(email));
  const r = await portal(undefined, 'POST', '/v1/auth/invitations/accept', {
    token: tokenIn(mail.text),
    password: `${role} password long`,
  });
  expect(r.status).toBe(200);
  const setCookie = r.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0] ?? '', csrf: r.body.csrf_token, setCookie, body: r.body };
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  bus = await createTestBus(names, ['gateway', 'partner-registry']);
  registry = spawnService('partner-registry', serviceEnv(names, { HEALTH_PORT: '0', SMTP_URL: smtp.url }));
  gw = await startGateway(names, { RATE_LIMIT_ENABLED: 'false' });
});
afterAll(async () => {
  await gw?.proc.stop();
  await registry?.stop();
  await bus?.cleanup();
  await smtp?.close();
});

describe('portal sessions at the gateway', () => {
  let acme: Partner;
  let owner: Browser;

  it('accepting an invitation sets an HttpOnly SameSite session cookie and returns a CSRF token, never the secret', async () => {
    acme = await activePartner('Cookie Co');
    const o = await member(acme, 'owner@cookie.test', 'owner');
    owner = o;
    // Plain http on loopback (development): not Secure, so no __Host- prefix; everything else holds.
    expect(o.setCookie).toMatch(/^pep_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect(o.body.session_secret).toBeUndefined();
    expect(o.body.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(o.body.user).toMatchObject({ email: 'owner@cookie.test', role: 'owner', partner_id: acme.id });
    expect(JSON.stringify(o.body)).not.toContain(o.cookie.split('=')[1]);
  });

  it('the cookie is a principal on the public /v1 routes, with the role scopes', async () => {
    expect((await portal(owner, 'GET', `/v1/partners/${acme.id}`)).status).toBe(200);
    const me = await portal(owner, 'GET', '/v1/auth/session');
    expect(me.status).toBe(200);
    expect(me.body.csrf_token).toBe(owner.csrf);
    expect(me.headers.get('cache-control')).toBe('no-store');
    const key = await portal(owner, 'POST', `/v1/partners/${acme.id}/api-keys`, { name: 'from the portal', scopes: ['read:partners'] });
    expect(key.status).toBe(201);
    expect(key.body.key).toMatch(/^pk_live_/);
  });

  it('refuses a cookie-authenticated write without the CSRF token, with a wrong one, or from another origin', async () => {
    const path = `/v1/partners/${acme.id}/api-keys`;
    const body = { name: 'csrf', scopes: ['read:partners'] };
    const noToken = await portal({ cookie: owner.cookie, csrf: '' }, 'POST', path, body);
    expect(noToken.status).toBe(403);
    expect(noToken.body.detail).toMatch(/CSRF/);
    expect((await portal({ ...owner, csrf: 'x'.repeat(43) }, 'POST', path, body)).status).toBe(403);
    expect((await portal(owner, 'POST', path, body, { origin: 'https://evil.example' })).status).toBe(403);
    const noOrigin = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(noOrigin.status).toBe(403);
    // A cross-site sign-in form post (login CSRF) is refused too.
    expect(
      (
        await portal(
          undefined,
          'POST',
          '/v1/auth/sign-in',
          { email: 'owner@cookie.test', password: 'owner password long' },
          { origin: 'https://evil.example' },
        )
      ).status,
    ).toBe(403);
  });

  it('a developer cannot read invoices; billing cannot manage keys or endpoints (the same table as API keys)', async () => {
    const dev = await member(acme, 'dev@cookie.test', 'developer');
    const invoices = await portal(dev, 'GET', '/v1/billing/invoices');
    expect(invoices.status).toBe(403);
    expect(invoices.body.required_scope).toBe('read:billing');
    expect((await portal(dev, 'POST', `/v1/partners/${acme.id}/api-keys`, { name: 'dev', scopes: ['read:partners'] })).status).toBe(201);
    const billing = await member(acme, 'bill@cookie.test', 'billing');
    expect((await portal(billing, 'POST', `/v1/partners/${acme.id}/api-keys`, { name: 'b', scopes: ['read:partners'] })).status).toBe(403);
    expect((await portal(billing, 'POST', '/v1/webhook-endpoints', { url: 'https://b.example/h', event_types: ['lead.*'] })).status).toBe(
      403,
    );
    expect((await portal(billing, 'POST', `/v1/partners/${acme.id}/users`, { email: 'x@cookie.test', role: 'developer' })).status).toBe(
      403,
    );
  });

  it("a member of another partner never reaches this partner's data", async () => {
    const other = await activePartner('Other Cookie Co');
    const outsider = await member(other, 'owner@other-cookie.test', 'owner');
    expect((await portal(outsider, 'GET', `/v1/partners/${acme.id}`)).status).toBe(404);
    expect((await portal(outsider, 'GET', `/v1/partners/${acme.id}/users`)).status).toBe(404);
    expect((await portal(outsider, 'GET', `/v1/partners/${acme.id}/api-keys`)).status).toBe(404);
  });

  it('signs in with password, lists sessions, signs out (cookie cleared, session refused) and everywhere', async () => {
    const signIn = await portal(undefined, 'POST', '/v1/auth/sign-in', { email: 'owner@cookie.test', password: 'owner password long' });
    expect(signIn.status).toBe(200);
    const second: Browser = { cookie: (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '', csrf: signIn.body.csrf_token };
    const list = await portal(second, 'GET', '/v1/auth/sessions');
    expect(list.body.data.length).toBe(2);
    expect(list.body.data.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
    const out = await portal(second, 'POST', '/v1/auth/sign-out');
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toMatch(/^pep_session=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
    expect((await portal(second, 'GET', `/v1/partners/${acme.id}`)).status).toBe(401);
    expect((await portal(owner, 'POST', '/v1/auth/sign-out-everywhere')).body).toEqual({ ended: 1 });
    expect((await portal(owner, 'GET', `/v1/partners/${acme.id}`)).status).toBe(401);
  });
});
