// Issue 15's portal follow-up in a real browser against the running stack: an integration's hourly metrics and its
// errors after real deliveries (one endpoint answers 200, one 503), granted OAuth authorizations listed and revoked
// after an authorization code + PKCE flow (the access token stops working), and the payouts page for the billing
// role (hidden and 403 for a developer); axe scans of the changed pages.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitUntil } from '@pep/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, apiOf, memberBrowser, type PartnerStack, partnerWithKey, scan, startPartnerStack, visit } from './partner-stack.ts';

let stack: PartnerStack;
let api: Api;
let acme: { id: string; key: string };
let owner: { context: BrowserContext; page: Page };
let failing: Server;
let failingUrl: string;
const A = { app: '', integration: '' };
const CALLBACK = 'https://follow.example/callback';

const lead = () => ({
  specversion: '1.0',
  id: `follow-${Date.now()}-${randomBytes(4).toString('hex')}`,
  source: 'urn:tests:portal-follow',
  type: 'lead.created',
  time: new Date().toISOString(),
  data: { lead_id: 'l-1', email: 'jane.doe@example.com', first_name: 'Jane', last_name: 'Doe' },
});

beforeAll(async () => {
  failing = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(503, { 'content-type': 'text/plain' }).end('upstream down for maintenance'));
  });
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', r));
  failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
  stack = await startPartnerStack('portal-follow');
  api = apiOf(stack);
  acme = await partnerWithKey(api, 'Acme Follow');
  owner = await memberBrowser(stack, acme.id, 'owner@acme-follow.test', 'owner');
  const app = await api(
    'POST',
    '/v1/applications',
    {
      name: 'Follow Bridge',
      description: 'Moves leads',
      redirect_uris: [CALLBACK],
      scopes: ['read:partners'],
      privacy_url: 'https://follow.example/privacy',
      terms_url: 'https://follow.example/terms',
    },
    acme.key,
  );
  expect(app.status, JSON.stringify(app.body)).toBe(201);
  A.app = app.body.id;
  for (const [step, key] of [
    ['submit', acme.key],
    ['start-review', stack.adminKey],
    ['approve', stack.adminKey],
    ['publish', acme.key],
  ] as const)
    expect((await api('POST', `/v1/applications/${A.app}/${step}`, {}, key)).status, step).toBe(200);
});
afterAll(async () => {
  await stack?.stop();
  failing?.close();
});

describe('portal follow-up pages in Chromium', () => {
  it("shows an integration's hourly metrics and its errors, filtered by class, after real deliveries", async () => {
    const inst = await api('POST', '/v1/integrations', { application_id: A.app, customer_id: 'cust-7' }, acme.key);
    expect(inst.status).toBe(201);
    A.integration = inst.body.id;
    for (const url of [`${stack.receiverUrl}/follow-ok`, `${failingUrl}/follow-fail`]) {
      const ep = await api('POST', '/v1/webhook-endpoints', { url, event_types: ['lead.*'], integration_id: A.integration }, acme.key);
      expect(ep.status, JSON.stringify(ep.body)).toBe(201);
    }
    await waitUntil(async () => [201, 202].includes((await api('POST', '/v1/events', lead(), acme.key)).status), {
      what: 'the event accepted',
    });
    await waitUntil(async () => stack.received.some((r) => r.path === '/follow-ok'), { what: 'the delivery at the receiver' });
    await waitUntil(
      async () => (await api('GET', `/v1/integrations/${A.integration}/errors`, undefined, acme.key)).body?.data?.length > 0,
      { what: 'the failed attempt recorded as an integration error', timeoutMs: 30_000 },
    );
    await waitUntil(
      async () => {
        const m = await api('GET', `/v1/integrations/${A.integration}/metrics`, undefined, acme.key);
        return (m.body?.data ?? []).some((h: { errors: Record<string, number> }) => (h.errors.http_5xx ?? 0) > 0);
      },
      // The dispatcher rolls attempts up per minute (`webhook.deliveries.rolled_up` once the minute is over).
      { what: 'the failed attempt in the hourly metrics', timeoutMs: 100_000, intervalMs: 500 },
    );
    const { page } = owner;
    await visit(stack, page, '/integrations');
    await page.getByRole('button', { name: 'Details of cust-7' }).click();
    const metrics = page.getByRole('region', { name: 'Traffic metrics per hour' });
    await metrics.getByRole('img', { name: /Calls per hour/ }).waitFor();
    const table = metrics.getByRole('region', { name: 'Metrics per hour table' });
    await expect.poll(() => table.textContent()).toMatch(/http_5xx \d+/);
    const errors = page.getByRole('region', { name: 'Integration errors' });
    await errors.getByRole('cell', { name: 'http_5xx' }).first().waitFor();
    await errors.getByText('upstream down for maintenance').first().waitFor();
    await errors.getByLabel('Error class').selectOption('timeout');
    await errors.getByText('No errors match.').waitFor();
    await errors.getByLabel('Error class').selectOption('http_5xx');
    await errors.getByRole('cell', { name: 'lead.created' }).first().waitFor();
    await scan(stack, page, '/integrations (metrics and errors)');
  });

  it('lists the authorization granted through the consent page and revokes it: the access token stops working', async () => {
    const client = await api(
      'POST',
      `/v1/applications/${A.app}/oauth-clients`,
      { type: 'public', redirect_uris: [CALLBACK], scopes: ['read:partners'] },
      acme.key,
    );
    expect(client.status).toBe(201);
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(`${stack.gw}/oauth/authorize`);
    authorize.search = new URLSearchParams({
      client_id: client.body.client_id,
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'read:partners',
      state: 'st-9',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { page } = owner;
    await page.route(`${CALLBACK}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' }));
    await waitUntil(
      async () => {
        await page.goto(authorize.toString());
        return (await page.getByRole('button', { name: 'Approve' }).count()) === 1;
      },
      { what: 'the consent page', timeoutMs: 20_000, intervalMs: 500 },
    );
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL((u) => u.toString().startsWith(CALLBACK));
    const code = new URL(page.url()).searchParams.get('code') ?? '';
    await page.unroute(`${CALLBACK}**`);
    const token = await fetch(`${stack.gw}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        client_id: client.body.client_id,
        code_verifier: verifier,
      }).toString(),
    });
    expect(token.status).toBe(200);
    const { access_token, refresh_token } = (await token.json()) as { access_token: string; refresh_token?: string };
    expect((await api('GET', `/v1/partners/${acme.id}`, undefined, access_token)).status).toBe(200);

    // Another partner sees nothing of the grant and cannot revoke it.
    const beta = await partnerWithKey(api, 'Beta Follow');
    const grants = await api('GET', '/v1/oauth/grants', undefined, acme.key);
    expect(grants.status).toBe(200);
    const grant = grants.body.data.find((g: { client_id: string }) => g.client_id === client.body.client_id);
    expect(grant).toMatchObject({ object: 'oauth_grant', partner_id: acme.id, application_name: 'Follow Bridge' });
    expect(grant.scopes).toContain('read:partners');
    expect((await api('GET', '/v1/oauth/grants', undefined, beta.key)).body.data).toEqual([]);
    expect((await api('DELETE', `/v1/oauth/grants/${grant.id}`, undefined, beta.key)).status).toBe(404);
    expect((await api('GET', `/v1/partners/${acme.id}`, undefined, access_token)).status).toBe(200);

    await visit(stack, page, '/oauth-clients');
    const card = page.getByRole('region', { name: 'Granted authorizations' });
    await card.getByRole('cell', { name: client.body.client_id }).waitFor();
    await card.getByRole('cell', { name: 'Follow Bridge' }).first().waitFor();
    await scan(stack, page, '/oauth-clients (grants)');
    await card.getByRole('button', { name: 'Revoke authorization of Follow Bridge' }).first().click();
    await card.getByText('Authorization for Follow Bridge revoked').waitFor();
    await expect.poll(() => card.getByRole('cell', { name: client.body.client_id }).count()).toBe(0);
    expect((await api('GET', `/v1/partners/${acme.id}`, undefined, access_token)).status).toBe(401);
    expect(refresh_token).toBeTruthy();
    const refreshed = await fetch(`${stack.gw}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refresh_token ?? '',
        client_id: client.body.client_id,
      }).toString(),
    });
    expect(refreshed.status).toBe(400);
    expect((await api('DELETE', `/v1/oauth/grants/${grant.id}`, undefined, acme.key)).status).toBe(404);
  });

  it("rotates a confidential client's secret on the OAuth clients page: shown once, the old one stops working", async () => {
    const created = await api(
      'POST',
      `/v1/applications/${A.app}/oauth-clients`,
      { type: 'confidential', scopes: ['read:partners'] },
      acme.key,
    );
    expect(created.status).toBe(201);
    const { client_id: id, client_secret: oldSecret } = created.body as { client_id: string; client_secret: string };
    const tokenWith = async (secret: string) =>
      (
        await fetch(`${stack.gw}/oauth/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read:partners' }).toString(),
        })
      ).status;
    await waitUntil(async () => (await tokenWith(oldSecret)) === 200, { what: 'the new client at the token endpoint' });
    const { page } = owner;
    await visit(stack, page, '/oauth-clients');
    await page.getByRole('button', { name: `Rotate secret of client ${id}` }).click();
    const newSecret = (await page.getByTestId('rotated-client-secret').textContent()) ?? '';
    expect(newSecret.length).toBeGreaterThan(20);
    expect(newSecret).not.toBe(oldSecret);
    await scan(stack, page, '/oauth-clients (rotated)');
    await waitUntil(async () => (await tokenWith(oldSecret)) === 401, { what: 'the old secret refused' });
    expect(await tokenWith(newSecret)).toBe(200);
    await page.reload();
    await page.getByRole('cell', { name: id, exact: true }).waitFor();
    expect(await page.getByText(newSecret).count()).toBe(0);
  });

  it('shows payouts to a billing member; a developer has no payouts page and the API refuses it', async () => {
    const billing = await memberBrowser(stack, acme.id, 'billing@acme-follow.test', 'billing');
    const nav = billing.page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link', { name: 'Payouts' }).count()).toBe(1);
    await visit(stack, billing.page, '/payouts');
    await billing.page.getByRole('region', { name: 'Payouts', exact: true }).waitFor();
    await billing.page.getByText('No payouts yet').waitFor();
    expect(await billing.page.evaluate(async () => (await fetch('/v1/billing/payouts')).status)).toBe(200);
    await billing.context.close();

    const dev = await memberBrowser(stack, acme.id, 'dev@acme-follow.test', 'developer');
    const devNav = dev.page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => devNav.getByRole('link', { name: 'Integrations' }).count()).toBe(1);
    expect(await devNav.getByRole('link', { name: 'Payouts' }).count()).toBe(0);
    await dev.page.goto(`${stack.gw}/portal/payouts`);
    await dev.page.getByText('This page is not available to your role.').waitFor();
    expect(await dev.page.evaluate(async () => (await fetch('/v1/billing/payouts')).status)).toBe(403);
    await dev.context.close();
  });

  it('finds no serious or critical accessibility violation on the changed pages', async () => {
    const { page } = owner;
    for (const path of ['/integrations', '/oauth-clients']) await visit(stack, page, path);
    expect(stack.axeFindings).toEqual([]);
  });
});
