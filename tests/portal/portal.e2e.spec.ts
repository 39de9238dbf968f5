// The partner portal in a real browser (Debian Chromium via playwright-core) against the running stack: gateway,
// partner-registry and webhook-dispatcher as processes, a real SMTP server for the emails, a loopback receiver for
// the webhooks. Set PORTAL_SCREENSHOTS=1 to refresh the screenshots of docs/portal.md.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import {
  createTestBus,
  freePort,
  REPO_ROOT,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, seriousViolations } from './browser.ts';

const names = testNames('portal');
const procs: ServiceProcess[] = [];
let bus: Awaited<ReturnType<typeof createTestBus>>;
let smtp: TestSmtpServer;
let browser: Browser;
let gw = '';
let adminKey = '';
let receiver: Server;
let receiverUrl = '';
const received: { path: string; body: string }[] = [];
const ADMIN = { email: 'admin@platform.test', password: 'platform admin password' };
const SHOTS = process.env.PORTAL_SCREENSHOTS ? `${REPO_ROOT}/docs/portal` : undefined;
const axeFindings: string[] = [];

async function api(method: string, path: string, body?: unknown, token = adminKey) {
  const res = await fetch(`${gw}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
async function activePartner(name: string) {
  const p = await api('POST', '/v1/partners', {
    name,
    type: 'technology',
    contact_email: `ops@${name.toLowerCase().replace(/\W/g, '')}.test`,
  });
  await api('POST', `/v1/partners/${p.body.id}/activate`, {});
  return p.body as { id: string; name: string };
}
const linkIn = async (email: string, subject: RegExp) => {
  const mail = await smtp.waitFor((m) => m.to.includes(email) && subject.test(m.subject));
  const link = /(http:\/\/\S+#token=[^\s"<]+)/.exec(mail.text)?.[1];
  if (!link) throw new Error(`no link in ${mail.text}`);
  return link;
};

/** A visit that also records the page's serious/critical accessibility findings and, if asked, a screenshot. */
async function visit(page: Page, path: string, shot?: string) {
  await page.goto(`${gw}/portal${path}`);
  await page.locator('h1').first().waitFor();
  await page.waitForLoadState('networkidle');
  for (const v of await seriousViolations(page)) axeFindings.push(`${path}: ${v}`);
  if (SHOTS && shot) await page.screenshot({ path: `${SHOTS}/${shot}.png` });
}

/** Invite (admin key) → the email from the SMTP server → the accept page → password → signed in, in its own browser. */
async function memberBrowser(partnerId: string, email: string, role: string): Promise<{ context: BrowserContext; page: Page }> {
  expect((await api('POST', `/v1/partners/${partnerId}/users`, { email, role })).status).toBe(201);
  const link = await linkIn(email, /invited/);
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  await page.goto(link.replace('http://127.0.0.1:9/portal', `${gw}/portal`));
  await page.getByLabel('Choose a password').fill(`${role} password for tests`);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return { context, page };
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  mkdirSync(SHOTS ?? '/tmp', { recursive: true });
  receiver = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  bus = await createTestBus(names, ['gateway', 'partner-registry', 'webhook-dispatcher']);
  const port = await freePort();
  gw = `http://127.0.0.1:${port}`;
  adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const common = { STREAM_MAX_AGE_HOURS: '2' };
  const registry = spawnService(
    'partner-registry',
    serviceEnv(names, {
      ...common,
      HEALTH_PORT: '0',
      SMTP_URL: smtp.url,
      PORTAL_URL: 'http://127.0.0.1:9/portal',
      SSRF_ALLOW: '127.0.0.1/32',
      ALLOW_HTTP_URLS: 'true',
      PORTAL_SEED_USERS: JSON.stringify([{ ...ADMIN, role: 'platform_admin', partner_id: null }]),
    }),
  );
  const dispatcher = spawnService(
    'webhook-dispatcher',
    serviceEnv(names, {
      ...common,
      HEALTH_PORT: '0',
      WEBHOOK_SECRET_KEY: randomBytes(32).toString('hex'),
      WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8',
      WEBHOOK_POLL_MS: '50',
    }),
  );
  const gateway = spawnService(
    'gateway',
    serviceEnv(names, { ...common, GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_ENABLED: 'false' }),
  );
  procs.push(registry, dispatcher, gateway);
  await waitReady(`${gw}/readyz`, gateway);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  receiver?.close();
  await smtp?.close();
  await bus?.cleanup();
});

describe('partner portal in Chromium', () => {
  let acme: { id: string; name: string };
  let owner: { context: BrowserContext; page: Page };

  it('serves the app under /portal with a strict CSP and SPA fallback', async () => {
    const res = await fetch(`${gw}/portal/some/deep/page`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('<div id="root">');
  });

  it('invite → the email from the SMTP server → set a password → signed in; then sign out and sign in with the password', async () => {
    acme = await activePartner('Acme Portal');
    owner = await memberBrowser(acme.id, 'owner@acme-portal.test', 'owner');
    const { page } = owner;
    await visit(page, '/', 'overview');
    await expect.poll(() => page.getByText('Signed in as owner@acme-portal.test').count()).toBe(1);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the partner portal' }).waitFor();
    for (const v of await seriousViolations(page)) axeFindings.push(`/sign-in: ${v}`);
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/sign-in.png` });
    await page.getByLabel('Email').fill('owner@acme-portal.test');
    await page.getByLabel('Password').fill('owner password for tests');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  it('creates an API key: the secret is shown once and the key works', async () => {
    const { page } = owner;
    await visit(page, '/keys');
    await page.getByLabel('Name').fill('ci key');
    await page.getByLabel('Scopes').fill('read:partners');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-secret').textContent()) ?? '';
    expect(secret).toMatch(/^pk_live_/);
    await page.getByRole('cell', { name: 'ci key', exact: true }).waitFor();
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/api-keys.png` });
    await waitUntil(async () => (await api('GET', `/v1/partners/${acme.id}`, undefined, secret)).status === 200, {
      what: 'the new key to work',
    });
  });

  it('registers an endpoint at a loopback receiver, sends a test event, sees the attempt and resends it', async () => {
    const { page } = owner;
    await visit(page, '/endpoints', 'endpoints');
    await page.getByLabel('Endpoint URL').fill(`${receiverUrl}/hooks`);
    await page.getByLabel('Event types').selectOption('lead.*');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('cell', { name: `${receiverUrl}/hooks` }).waitFor();
    await page.getByRole('button', { name: 'Send test event (lead.created)' }).click();
    await page.getByText('Test event lead.created sent').waitFor();
    await waitUntil(async () => received.length >= 1, { what: 'the test event at the receiver' });
    await visit(page, '/deliveries');
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.locator('h1').first().waitFor();
          return page
            .getByTestId('delivery-status')
            .first()
            .textContent({ timeout: 2000 })
            .catch(() => '');
        },
        { timeout: 20_000 },
      )
      .toBe('succeeded');
    await page.getByRole('button', { name: 'Attempts' }).first().click();
    await expect.poll(() => page.getByTestId('attempts').locator('li').count()).toBeGreaterThanOrEqual(1);
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/deliveries.png` });
    const before = received.length;
    await page.getByRole('button', { name: 'Resend' }).first().click();
    await waitUntil(async () => received.length > before, { what: 'the resent delivery at the receiver' });
  });

  it('a developer does not see invoices, and the API refuses them too', async () => {
    const dev = await memberBrowser(acme.id, 'dev@acme-portal.test', 'developer');
    const nav = dev.page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link', { name: 'API keys' }).count()).toBe(1);
    expect(await nav.getByRole('link', { name: 'Invoices' }).count()).toBe(0);
    await dev.page.goto(`${gw}/portal/invoices`);
    await dev.page.getByText('This page is not available to your role.').waitFor();
    const status = await dev.page.evaluate(async () => (await fetch('/v1/billing/invoices')).status);
    expect(status).toBe(403);
    await visit(dev.page, '/team', 'team');
    await dev.context.close();
  });

  it("a member of partner B never sees partner A's data", async () => {
    const beta = await activePartner('Beta Portal');
    const b = await memberBrowser(beta.id, 'owner@beta-portal.test', 'owner');
    await b.page.goto(`${gw}/portal/endpoints`);
    await b.page.getByRole('heading', { name: 'Webhook endpoints' }).waitFor();
    await b.page.waitForLoadState('networkidle');
    expect(await b.page.getByText(receiverUrl).count()).toBe(0);
    await b.page.goto(`${gw}/portal/keys`);
    await b.page.getByRole('heading', { name: 'API keys' }).waitFor();
    await b.page.waitForLoadState('networkidle');
    expect(await b.page.getByText('ci key').count()).toBe(0);
    const statuses = await b.page.evaluate(
      async (a) =>
        Promise.all(
          [`/v1/partners/${a}`, `/v1/partners/${a}/users`, `/v1/partners/${a}/api-keys`].map(async (p) => (await fetch(p)).status),
        ),
      acme.id,
    );
    expect(statuses).toEqual([404, 404, 404]);
    await b.context.close();
  });

  it('an admin signs in and approves a submitted application from the review queue', async () => {
    const key = await api('POST', `/v1/partners/${acme.id}/api-keys`, { name: 'apps', scopes: ['admin'] });
    const app = await api(
      'POST',
      '/v1/applications',
      {
        name: 'Acme Sync',
        description: 'Keeps leads in sync',
        redirect_uris: ['https://acme.example/callback'],
        scopes: ['read:partners'],
        privacy_url: 'https://acme.example/privacy',
        terms_url: 'https://acme.example/terms',
      },
      key.body.key,
    );
    expect(app.status).toBe(201);
    expect((await api('POST', `/v1/applications/${app.body.id}/submit`, {}, key.body.key)).status).toBe(200);
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${gw}/portal/sign-in`);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await visit(page, '/admin/reviews', 'review-queue');
    await page.getByRole('button', { name: 'Approve Acme Sync' }).click();
    await waitUntil(async () => (await api('GET', `/v1/applications/${app.body.id}`)).body.status === 'approved', { what: 'the approval' });
    await context.close();
  });

  it('OAuth authorization code + PKCE through the consent page, signed in by the portal session', async () => {
    const app = await api('POST', '/v1/applications', {
      name: 'Lead Mirror',
      description: 'Mirrors leads',
      redirect_uris: [`${receiverUrl}/callback`],
      scopes: ['read:partners'],
      partner_id: acme.id,
    });
    expect(app.status).toBe(201);
    const client = await api('POST', `/v1/applications/${app.body.id}/oauth-clients`, {
      type: 'public',
      redirect_uris: [`${receiverUrl}/callback`],
      scopes: ['read:partners'],
    });
    expect(client.status).toBe(201);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = new URL(`${gw}/oauth/authorize`);
    authorize.search = new URLSearchParams({
      client_id: client.body.client_id,
      redirect_uri: `${receiverUrl}/callback`,
      response_type: 'code',
      scope: 'read:partners',
      state: 'xyz',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const { page } = owner;
    // The gateway sees the new client within moments (its own projection of the registry's events).
    await expect
      .poll(async () => {
        await page.goto(authorize.toString());
        return page.getByRole('heading', { name: 'Lead Mirror wants access to your partner account' }).count();
      })
      .toBe(1);
    await page.getByText('See your partner profile, contacts and agreements').waitFor();
    expect(await page.getByText('Published by').textContent()).toContain('Acme Portal');
    for (const v of await seriousViolations(page)) axeFindings.push(`/oauth consent: ${v}`);
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/oauth-consent.png` });
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL((u) => u.toString().startsWith(`${receiverUrl}/callback`));
    const callback = new URL(page.url());
    expect(callback.searchParams.get('state')).toBe('xyz');
    const token = await fetch(`${gw}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: `${receiverUrl}/callback`,
        client_id: client.body.client_id,
        code_verifier: verifier,
      }).toString(),
    });
    expect(token.status).toBe(200);
    const tokens = (await token.json()) as { access_token: string; scope: string };
    expect(tokens.scope).toBe('read:partners');
    expect((await api('GET', `/v1/partners/${acme.id}`, undefined, tokens.access_token)).status).toBe(200);
  });

  it('finds no serious or critical accessibility violation on any page, also at phone width', async () => {
    const { page } = owner;
    await page.setViewportSize({ width: 390, height: 800 });
    for (const path of ['/', '/keys', '/endpoints', '/deliveries', '/team'])
      await visit(page, path, path === '/' ? 'phone-overview' : undefined);
    const anon = await browser.newContext();
    const p = await anon.newPage();
    for (const path of ['/sign-in', '/reset-password', '/accept-invitation', '/sign-in-link', '/verify-email']) await visit(p, path);
    await anon.close();
    expect(axeFindings).toEqual([]);
  });
});
