// The partner pages in a real browser (Debian Chromium via playwright-core) against the running stack: applications
// through review, OAuth clients, integrations with a live mapping preview, deliveries with filters/resend/recover,
// support tickets, the listing editor, usage, what each role sees, and partner B seeing nothing of partner A.
// PORTAL_SCREENSHOTS=1 refreshes the screenshots of docs/portal.md.
import { createHash, randomBytes } from 'node:crypto';
import { businessEventExamples } from '@pep/contracts';
import { waitUntil } from '@pep/testing';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, apiOf, memberBrowser, type PartnerStack, partnerWithKey, scan, startPartnerStack, visit } from './partner-stack.ts';

let stack: PartnerStack;
let api: Api;
let acme: { id: string; key: string };
let owner: { context: BrowserContext; page: Page };
const A: { app: string; client: string; integration: string; endpoint: string; delivery: string; ticket: string } = {
  app: '',
  client: '',
  integration: '',
  endpoint: '',
  delivery: '',
  ticket: '',
};

const LOGO = 'https://bridge.example/logo.png';
const CALLBACK = 'https://bridge.example/callback';
const LISTING = () => `lst_${A.app.replace(/^app_/, '')}`;

/** A business event as a partner publishes it, with the catalog's example data. */
const event = (type: string, data: Record<string, unknown> = businessEventExamples[type] ?? {}) => ({
  specversion: '1.0',
  id: `pages-${type}-${Date.now()}-${Math.round(Math.random() * 1e6)}`,
  source: 'urn:tests:portal',
  type,
  time: new Date().toISOString(),
  data,
});
/** Reload until the check holds (read models catch up within moments). */
async function reloadUntil(page: Page, check: () => Promise<boolean>, what: string) {
  await waitUntil(
    async () => {
      if (await check()) return true;
      await page.reload();
      await page.locator('h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      return false;
    },
    { what, timeoutMs: 20_000 },
  );
}

beforeAll(async () => {
  stack = await startPartnerStack('portal-pages');
  api = apiOf(stack);
  acme = await partnerWithKey(api, 'Acme Pages');
  owner = await memberBrowser(stack, acme.id, 'owner@acme-pages.test', 'owner');
});
afterAll(async () => {
  await stack?.stop();
});

describe('partner pages in Chromium', () => {
  it('takes an application through review: draft, submit, the reviewer asks for changes, resubmit, approved, published', async () => {
    const { page } = owner;
    await visit(stack, page, '/applications');
    await page.getByLabel('Name', { exact: true }).fill('Lead Bridge');
    await page.getByLabel('Description').fill('Moves leads between systems');
    await page.getByLabel('Redirect URIs').fill('https://bridge.example/callback');
    await page.getByLabel('Scopes').fill('read:partners');
    await page.getByLabel('Privacy policy URL').fill('https://bridge.example/privacy');
    await page.getByLabel('Terms URL').fill('https://bridge.example/terms');
    await page.getByRole('button', { name: 'Create draft' }).click();
    await page.getByText('Created Lead Bridge as a draft.').waitFor();
    await page.getByRole('button', { name: 'Submit for review Lead Bridge' }).click();
    await page.getByText('Lead Bridge is now submitted.').waitFor();
    const apps = await api('GET', '/v1/applications?limit=10', undefined, acme.key);
    A.app = apps.body.data[0].id;
    expect((await api('POST', `/v1/applications/${A.app}/start-review`, {})).status).toBe(200);
    expect((await api('POST', `/v1/applications/${A.app}/request-changes`, { note: 'Please describe the data you move' })).status).toBe(
      200,
    );
    await page.reload();
    await page.getByRole('button', { name: 'Open Lead Bridge' }).click();
    await page.getByTestId('review-notes').getByText('Please describe the data you move').waitFor();
    await page.getByLabel('Description').fill('Moves leads (name, email, source) between systems');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved Lead Bridge.').waitFor();
    await page.getByRole('button', { name: 'Submit for review Lead Bridge' }).click();
    await page.getByText('Lead Bridge is now submitted.').waitFor();
    expect((await api('POST', `/v1/applications/${A.app}/start-review`, {})).status).toBe(200);
    expect((await api('POST', `/v1/applications/${A.app}/approve`, {})).status).toBe(200);
    await page.reload();
    await page.getByRole('button', { name: 'Open Lead Bridge' }).click();
    await scan(stack, page, '/applications (review)', 'applications');
    await page.getByRole('button', { name: 'Publish Lead Bridge' }).click();
    await page.getByText('Lead Bridge is now published.').waitFor();
    expect((await api('GET', `/v1/applications/${A.app}`, undefined, acme.key)).body.status).toBe('published');
  });

  it('registers an OAuth client (its secret shown once) and revokes it', async () => {
    const { page } = owner;
    await visit(stack, page, '/oauth-clients');
    await page.getByLabel('Redirect URIs').fill('https://bridge.example/callback');
    await page.getByRole('button', { name: 'Register client' }).click();
    const secret = (await page.getByTestId('new-client-secret').textContent()) ?? '';
    A.client = (await page.getByTestId('new-client-id').textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(20);
    await page.getByRole('cell', { name: A.client, exact: true }).waitFor();
    await scan(stack, page, '/oauth-clients (created)', 'oauth-clients');
    await page.reload();
    await page.getByRole('cell', { name: A.client, exact: true }).waitFor();
    expect(await page.getByText(secret).count()).toBe(0);
    await page.getByRole('button', { name: `Revoke client ${A.client}` }).click();
    await expect.poll(() => page.getByTestId('client-status').first().textContent()).toBe('revoked');
    expect((await api('GET', `/v1/oauth-clients/${A.client}`, undefined, acme.key)).body.status).toBe('revoked');
  });

  it("shows an integration's health and previews a field mapping live, then saves it", async () => {
    const inst = await api('POST', '/v1/integrations', { application_id: A.app, customer_id: 'cust-42' }, acme.key);
    expect(inst.status).toBe(201);
    A.integration = inst.body.id;
    const { page } = owner;
    await visit(stack, page, '/integrations');
    await page.getByRole('button', { name: 'Details of cust-42' }).click();
    const preview = page.getByTestId('mapping-preview');
    await page.getByLabel('Mapping expression (JSONata)').fill('{ "who": email, "name": first_name & " " & last_name }');
    await preview.getByText('"who": "jane.doe@example.com"').waitFor();
    await preview.getByText('"name": "Jane Doe"').waitFor();
    await page.getByLabel('Sample event data (JSON)').fill('{ "email": "max@example.com", "first_name": "Max", "last_name": "Muster" }');
    await preview.getByText('"who": "max@example.com"').waitFor();
    await page.getByLabel('Mapping expression (JSONata)').fill('{ "who": ');
    await preview.locator('.error').first().waitFor();
    await page.getByLabel('Mapping expression (JSONata)').fill('{ "who": email }');
    await preview.getByText('"who": "max@example.com"').waitFor();
    await scan(stack, page, '/integrations (detail)', 'integrations');
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.getByText('Saved the mapping of lead.created as version 1.').waitFor();
    await page.getByRole('cell', { name: '{ "who": email }' }).waitFor();
    const saved = await api('GET', `/v1/integrations/${A.integration}/mappings`, undefined, acme.key);
    expect(saved.body.data.map((m: { expression: string }) => m.expression)).toEqual(['{ "who": email }']);
  });

  it('filters the attempt log by event type and status, shows an attempt with its response, resends and recovers', async () => {
    const ep = await api('POST', '/v1/webhook-endpoints', { url: `${stack.receiverUrl}/pages`, event_types: ['lead.*'] }, acme.key);
    expect(ep.status).toBe(201);
    A.endpoint = ep.body.id;
    await waitUntil(
      async () => {
        const r = await api('POST', '/v1/events', event('lead.created'), acme.key);
        return r.status === 202 || r.status === 201;
      },
      { what: 'the first event accepted' },
    );
    const qualified = await api('POST', '/v1/events', event('lead.qualified'), acme.key);
    expect([201, 202], JSON.stringify(qualified.body)).toContain(qualified.status);
    await waitUntil(async () => stack.received.filter((r) => r.path === '/pages').length >= 2, { what: 'both events at the receiver' });
    const { page } = owner;
    await visit(stack, page, '/deliveries');
    await reloadUntil(
      page,
      async () => (await page.getByTestId('delivery-status').getByText('succeeded').count()) === 2,
      'two succeeded deliveries',
    );
    await page.getByLabel('Event type').fill('lead.qualified');
    await expect.poll(() => page.getByTestId('delivery-status').count()).toBe(1);
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No deliveries match these filters.').waitFor();
    await page.getByLabel('Status').selectOption('any');
    await page.getByRole('button', { name: 'Attempts of lead.qualified' }).click();
    const attempts = page.getByTestId('attempts');
    await attempts.getByText('succeeded').first().waitFor();
    await attempts.getByText('Response excerpt').first().click();
    await attempts.getByText('{"ok":true}').first().waitFor();
    await scan(stack, page, '/deliveries (attempts)', 'deliveries-attempt');
    const before = stack.received.length;
    await page.getByRole('button', { name: 'Resend lead.qualified' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toContain('resend job completed');
    await waitUntil(async () => stack.received.length > before, { what: 'the resent delivery at the receiver' });
    await page.getByRole('button', { name: 'Recover failed deliveries' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toContain('recover job completed');
    const copies = stack.received.length;
    await page.getByRole('button', { name: 'Replay events' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent(), { timeout: 20_000 }).toContain('replay job completed');
    await waitUntil(async () => stack.received.length >= copies + 2, { what: 'the replayed events at the receiver' });
    const list = await api('GET', `/v1/webhook-endpoints/${A.endpoint}/deliveries`, undefined, acme.key);
    A.delivery = list.body.data[0].id;
  });

  it('opens a support ticket, comments on it and closes it', async () => {
    const { page } = owner;
    await visit(stack, page, '/support');
    await page.getByLabel('Subject').fill('Deliveries to EU endpoint are slow');
    await page.getByLabel('What happened').fill('Since this morning the p95 latency doubled.');
    await page.getByRole('button', { name: 'Open ticket' }).click();
    await page.getByRole('heading', { name: 'Ticket: Deliveries to EU endpoint are slow' }).waitFor();
    await page.getByLabel('Add a comment').fill('It recovered at noon.');
    await page.getByRole('button', { name: 'Send comment' }).click();
    await page.locator('.comments').getByText('It recovered at noon.').waitFor();
    await page.getByRole('button', { name: 'Close ticket' }).click();
    await page.getByRole('button', { name: 'Reopen ticket' }).waitFor();
    await scan(stack, page, '/support (ticket)', 'support');
    const tickets = await api('GET', '/v1/support/tickets', undefined, acme.key);
    A.ticket = tickets.body.data[0].id;
    expect(tickets.body.data[0].status).toBe('closed');
  });

  it('edits the marketplace listing with a live preview and saves the draft with its checklist', async () => {
    const { page } = owner;
    await visit(stack, page, '/listing');
    await reloadUntil(page, async () => (await page.getByLabel('Tagline').count()) === 1, 'the listing of the published application');
    await page.getByLabel('Tagline').fill('Leads where you need them');
    await page.getByRole('article', { name: 'Preview of Lead Bridge' }).getByText('Leads where you need them').waitFor();
    await page.getByLabel('Support email').fill('help@bridge.example');
    await page.getByRole('button', { name: 'Add a plan' }).click();
    await page.getByRole('article', { name: 'Preview of Lead Bridge' }).getByText('Starter').waitFor();
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.getByText('Draft saved').waitFor();
    await expect.poll(() => page.getByTestId('listing-checklist').locator('li').count()).toBeGreaterThan(3);
    expect(await page.getByRole('button', { name: 'Publish', exact: true }).isDisabled()).toBe(true);
    await page.getByRole('article', { name: 'Preview of Lead Bridge' }).scrollIntoViewIfNeeded();
    await scan(stack, page, '/listing (draft)', 'listing');
    const draft = await api('GET', `/v1/marketplace/listings/${LISTING()}/draft`, undefined, acme.key);
    expect(draft.body.draft.tagline).toBe('Leads where you need them');
    // Complete the checklist and publish: the listing goes live with its logo.
    await page
      .getByLabel('Description (Markdown)')
      .fill(
        'Lead Bridge moves **leads** between your CRM and the platform: new and qualified leads arrive within seconds, fields mapped the way your team names them, with every delivery traceable.',
      );
    await page.getByLabel('Logo URL').fill(LOGO);
    await page.getByLabel('Screenshot URLs').fill([1, 2, 3].map((n) => `https://bridge.example/shot-${n}.png`).join('\n'));
    await page.getByLabel('Listing privacy URL').fill('https://bridge.example/privacy');
    await page.getByLabel('Listing terms URL').fill('https://bridge.example/terms');
    await page.getByRole('button', { name: 'Save draft' }).click();
    await page.getByText('every checklist item is met').waitFor();
    await page.getByRole('button', { name: 'Publish', exact: true }).click();
    await page.getByText('Published: the marketplace shows this content now.').waitFor();
    await waitUntil(async () => (await api('GET', `/v1/marketplace/listings/${LISTING()}`)).body?.logo_url === LOGO, {
      what: 'the live listing',
    });
  });

  it("OAuth authorization code + PKCE through the consent page, which shows the listing's logo, the publisher and the scopes in words", async () => {
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
      state: 'st-1',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const { page } = owner;
    // The application's own site is not on this machine: the browser's request to it is answered here.
    await page.route(`${CALLBACK}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'callback' }));
    // The gateway sees the new client within moments (its own projection of the registry's events).
    await waitUntil(
      async () => {
        await page.goto(authorize.toString());
        return (await page.getByRole('heading', { name: 'Lead Bridge wants access to your partner account' }).count()) === 1;
      },
      { what: 'the consent page', timeoutMs: 20_000, intervalMs: 500 },
    ).catch(async (err: Error) => {
      throw new Error(`${err.message}; the page shows: ${await page.locator('body').textContent()}`);
    });
    expect(await page.locator('img.logo').getAttribute('src')).toBe(LOGO);
    expect(await page.getByText('Published by').textContent()).toContain('Acme Pages');
    await page.getByText('See your partner profile, contacts and agreements').waitFor();
    await scan(stack, page, '/oauth consent (listing logo)');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL((u) => u.toString().startsWith(CALLBACK));
    const callback = new URL(page.url());
    expect(callback.searchParams.get('state')).toBe('st-1');
    const token = await fetch(`${stack.gw}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: CALLBACK,
        client_id: client.body.client_id,
        code_verifier: verifier,
      }).toString(),
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    expect((await api('GET', `/v1/partners/${acme.id}`, undefined, access_token)).status).toBe(200);
    await page.unroute(`${CALLBACK}**`);
  });

  it('a billing member sees usage and invoices but no developer pages; a developer sees no usage; the API agrees', async () => {
    const billing = await memberBrowser(stack, acme.id, 'billing@acme-pages.test', 'billing');
    const nav = billing.page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link', { name: 'Usage' }).count()).toBe(1);
    for (const hidden of ['API keys', 'Webhook endpoints', 'Deliveries', 'Applications', 'OAuth clients', 'Integrations', 'Listing'])
      expect(await nav.getByRole('link', { name: hidden, exact: true }).count(), hidden).toBe(0);
    expect(await nav.getByRole('link', { name: 'Invoices' }).count()).toBe(1);
    await visit(stack, billing.page, '/usage');
    await reloadUntil(
      billing.page,
      async () =>
        Number(
          (await billing.page
            .getByTestId('usage-events_ingested')
            .textContent({ timeout: 1000 })
            .catch(() => '0')) ?? '0',
        ) >= 2,
      'the published events in usage',
    );
    await scan(stack, billing.page, '/usage (with usage)', 'usage');
    await visit(stack, billing.page, '/');
    await billing.page.goto(`${stack.gw}/portal/integrations`);
    await billing.page.getByText('This page is not available to your role.').waitFor();
    expect(await billing.page.evaluate(async () => (await fetch('/v1/integrations')).status)).toBe(403);
    await billing.context.close();

    const dev = await memberBrowser(stack, acme.id, 'dev@acme-pages.test', 'developer');
    const devNav = dev.page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => devNav.getByRole('link', { name: 'Integrations' }).count()).toBe(1);
    expect(await devNav.getByRole('link', { name: 'Usage' }).count()).toBe(0);
    expect(await dev.page.evaluate(async () => (await fetch('/v1/billing/usage')).status)).toBe(403);
    await dev.context.close();
  });

  it("a member of partner B sees none of partner A's applications, clients, integrations, deliveries, tickets or listing", async () => {
    const beta = await partnerWithKey(api, 'Beta Pages');
    const b = await memberBrowser(stack, beta.id, 'owner@beta-pages.test', 'owner');
    for (const path of ['/applications', '/oauth-clients', '/integrations', '/deliveries', '/support', '/listing']) {
      await b.page.goto(`${stack.gw}/portal${path}`);
      await b.page.locator('h1').first().waitFor();
      await b.page.waitForLoadState('networkidle');
      for (const text of ['Lead Bridge', 'cust-42', stack.receiverUrl, 'Deliveries to EU endpoint', A.client])
        expect(await b.page.getByText(text).count(), `${text} on ${path}`).toBe(0);
    }
    const paths = [
      `/v1/applications/${A.app}`,
      `/v1/applications/${A.app}/oauth-clients`,
      `/v1/oauth-clients/${A.client}`,
      `/v1/integrations/${A.integration}`,
      `/v1/integrations/${A.integration}/mappings`,
      `/v1/webhook-endpoints/${A.endpoint}/deliveries`,
      `/v1/deliveries/${A.delivery}/attempts`,
      `/v1/support/tickets/${A.ticket}`,
      `/v1/marketplace/listings/${LISTING()}/draft`,
    ];
    const statuses = await b.page.evaluate(async (ps) => Promise.all(ps.map(async (p) => (await fetch(p)).status)), paths);
    expect(Object.fromEntries(paths.map((p, i) => [p, statuses[i]]))).toEqual(Object.fromEntries(paths.map((p) => [p, 404])));
    await b.context.close();
  });

  it('finds no serious or critical accessibility violation on the partner pages, also at phone width', async () => {
    const { page } = owner;
    await visit(stack, page, '/', 'overview-charts');
    await page.setViewportSize({ width: 390, height: 800 });
    for (const path of ['/', '/applications', '/oauth-clients', '/integrations', '/deliveries', '/support', '/listing'])
      await visit(stack, page, path, path === '/integrations' ? 'phone-integrations' : undefined);
    expect(stack.axeFindings).toEqual([]);
  });
});
