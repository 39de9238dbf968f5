// The admin console and the incident pages in a real browser (Debian Chromium via playwright-core) against the
// running stack: gateway, partner-registry, webhook-dispatcher and rollback-orchestrator as processes, a real SMTP
// server for the invitations. Every page uses the public /v1 API with the signed-in user's session.
// PORTAL_SCREENSHOTS=1 refreshes the admin screenshots of docs/portal.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StoredEvent } from '@pep/contracts';
import { createDb, type PlatformTables } from '@pep/db';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import {
  createTestBus,
  dbUrl,
  eventsAfter,
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

const names = testNames('padmin');
const procs: ServiceProcess[] = [];
let bus: Awaited<ReturnType<typeof createTestBus>>;
let smtp: TestSmtpServer;
let browser: Browser;
let gw = '';
let adminKey = '';
const ADMIN = { email: 'root@platform.test', password: 'platform admin password' };
const SHOTS = process.env.PORTAL_SCREENSHOTS ? `${REPO_ROOT}/docs/portal` : undefined;
const axeFindings: string[] = [];
// The journey's rollback webhook (a loopback receiver): what an approved rollback calls.
let receiver: Server;
let receiverUrl = '';
const rollbackCalls: string[] = [];

async function api(method: string, path: string, body?: unknown, token = adminKey) {
  const res = await fetch(`${gw}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
async function newPartner(name: string, activate = true) {
  const p = await api('POST', '/v1/partners', {
    name,
    type: 'technology',
    contact_email: `ops@${name.toLowerCase().replace(/\W/g, '')}.test`,
  });
  expect(p.status).toBe(201);
  if (activate) expect((await api('POST', `/v1/partners/${p.body.id}/activate`, {})).status).toBe(200);
  return p.body as { id: string; name: string };
}
const linkIn = async (email: string) => {
  const mail = await smtp.waitFor((m) => m.to.includes(email) && /invited/.test(m.subject));
  const link = /(http:\/\/\S+#token=[^\s"<]+)/.exec(mail.text)?.[1];
  if (!link) throw new Error(`no link in ${mail.text}`);
  return link.replace('http://127.0.0.1:9/portal', `${gw}/portal`);
};

/** A visit that records the page's serious/critical accessibility findings and, if asked, a screenshot. */
async function visit(page: Page, path: string, shot?: string) {
  await page.goto(`${gw}/portal${path}`);
  await page.locator('h1').first().waitFor();
  await page.waitForLoadState('networkidle');
  for (const v of await seriousViolations(page)) axeFindings.push(`${path}: ${v}`);
  if (SHOTS && shot) await page.screenshot({ path: `${SHOTS}/${shot}.png` });
}

async function signIn(email: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${gw}/portal/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return { context, page };
}

/** Accepts an emailed invitation in a fresh browser: set a password, signed in. */
async function acceptInvitation(link: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await context.newPage();
  await page.goto(link);
  await page.getByLabel('Choose a password').fill(password);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return { context, page };
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  mkdirSync(SHOTS ?? '/tmp', { recursive: true });
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      rollbackCalls.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  bus = await createTestBus(names, ['gateway', 'partner-registry', 'webhook-dispatcher', 'rollback-orchestrator']);
  const port = await freePort();
  gw = `http://127.0.0.1:${port}`;
  adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const common = { STREAM_MAX_AGE_HOURS: '2', HEALTH_PORT: '0' };
  const secret = randomBytes(32).toString('hex');
  procs.push(
    spawnService(
      'partner-registry',
      serviceEnv(names, {
        ...common,
        SMTP_URL: smtp.url,
        PORTAL_URL: 'http://127.0.0.1:9/portal',
        PORTAL_SEED_USERS: JSON.stringify([{ ...ADMIN, role: 'platform_admin', partner_id: null }]),
      }),
    ),
    spawnService(
      'webhook-dispatcher',
      serviceEnv(names, { ...common, WEBHOOK_SECRET_KEY: secret, WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8', WEBHOOK_POLL_MS: '50' }),
    ),
    spawnService('rollback-orchestrator', serviceEnv(names, { ...common, ROLLBACK_SECRETS_KEY: secret, OUTBOUND_ALLOWLIST: '127.0.0.1' })),
  );
  const gateway = spawnService(
    'gateway',
    serviceEnv(names, {
      STREAM_MAX_AGE_HOURS: '2',
      GATEWAY_PORT: String(port),
      PLATFORM_ADMIN_API_KEY: adminKey,
      RATE_LIMIT_ENABLED: 'false',
    }),
  );
  procs.push(gateway);
  await waitReady(`${gw}/readyz`, gateway, 150_000);
  // Every service answers its ops routes before the browser starts (the registry also seeds the admin).
  for (const s of ['partner-registry', 'webhook-dispatcher', 'rollback-orchestrator'])
    await waitUntil(async () => (await api('GET', `/v1/admin/services/${s}/projections`)).status === 200, { what: `${s} to answer` }).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}\n${procs.map((p) => `--- ${p.name}\n${p.output().slice(-3000)}`).join('\n')}`);
      },
    );
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  receiver?.close();
  await smtp?.close();
  await bus?.cleanup();
});

describe('admin console and incidents in Chromium', () => {
  let acme: { id: string; name: string };
  let owner: { context: BrowserContext; page: Page };
  let admin: { context: BrowserContext; page: Page };

  it('a partner owner gets no admin console: no nav entry, the page refuses, and the API answers 403', async () => {
    acme = await newPartner('Acme Admin Test');
    expect((await api('POST', `/v1/partners/${acme.id}/users`, { email: 'owner@acme-admin.test', role: 'owner' })).status).toBe(201);
    owner = await acceptInvitation(await linkIn('owner@acme-admin.test'), 'owner password for tests');
    const nav = owner.page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link', { name: 'Incidents' }).count(), { timeout: 10_000 }).toBe(1);
    for (const label of ['Partner review', 'Application review', 'Operations', 'Platform admins'])
      expect(await nav.getByRole('link', { name: label }).count()).toBe(0);
    await owner.page.goto(`${gw}/portal/admin/operations`);
    await owner.page.getByText('This page is not available to your role.').waitFor();
    const statuses = await owner.page.evaluate(async () =>
      Promise.all(
        ['/v1/admin/services/partner-registry/projections', '/v1/admin/services/webhook-dispatcher/dead-letters', '/v1/admin/users'].map(
          async (p) => (await fetch(p)).status,
        ),
      ),
    );
    expect(statuses).toEqual([403, 403, 403]);
  });

  it('an admin rejects a pending partner with a note, asks another for changes, suspends and reinstates an active one', async () => {
    const reject = await newPartner('Shady Leads', false);
    const changes = await newPartner('Almost There', false);
    admin = await signIn(ADMIN.email, ADMIN.password);
    const { page } = admin;
    await visit(page, '/admin/partners', 'admin-partners');
    await page.getByLabel('Note to the partner').fill('No company registration was provided');
    await page.getByRole('button', { name: 'Reject Shady Leads' }).click();
    await page.getByText('Shady Leads rejected.').waitFor();
    const rejected = await api('GET', `/v1/partners/${reject.id}`);
    expect(rejected.body).toMatchObject({ status: 'terminated', status_reason: 'No company registration was provided' });
    // Asking for changes needs a note: without one the page says so and nothing is sent.
    await page.getByRole('button', { name: 'Request changes Almost There' }).click();
    await page.getByRole('alert').getByText('Request changes needs a note').waitFor();
    expect((await api('GET', `/v1/partners/${changes.id}`)).body.status_reason).toBeNull();
    await page.getByLabel('Note to the partner').fill('Please add a security contact');
    await page.getByRole('button', { name: 'Request changes Almost There' }).click();
    await page.getByText('Almost There asked for changes.').waitFor();
    expect((await api('GET', `/v1/partners/${changes.id}`)).body).toMatchObject({
      status: 'pending',
      status_reason: 'Please add a security contact',
    });

    await page.getByLabel('Status').selectOption('active');
    await page.getByLabel('Note to the partner').fill('Unpaid invoices');
    await page.getByRole('button', { name: `Suspend ${acme.name}` }).click();
    await page.getByText(`${acme.name} suspended.`).waitFor();
    expect((await api('GET', `/v1/partners/${acme.id}`)).body.status).toBe('suspended');
    await page.getByLabel('Status').selectOption('suspended');
    await page.getByRole('button', { name: `Reinstate ${acme.name}` }).click();
    await page.getByText(`${acme.name} reinstated.`).waitFor();
    expect((await api('GET', `/v1/partners/${acme.id}`)).body.status).toBe('active');
  });

  it('an admin approves a submitted application from the application queue', async () => {
    const key = await api('POST', `/v1/partners/${acme.id}/api-keys`, { name: 'apps', scopes: ['admin'] });
    await waitUntil(async () => (await api('GET', `/v1/partners/${acme.id}`, undefined, key.body.key)).status === 200, { what: 'the key' });
    const app = await api(
      'POST',
      '/v1/applications',
      {
        name: 'Acme Console Sync',
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
    const { page } = admin;
    await visit(page, '/admin/reviews');
    await page.getByRole('button', { name: 'Approve Acme Console Sync' }).click();
    await waitUntil(async () => (await api('GET', `/v1/applications/${app.body.id}`)).body.status === 'approved', { what: 'the approval' });
  });

  it('an admin sees consumer lag per service, retries one dead letter of the registry and discards another', async () => {
    // A dead letter of the registry's partners projection: a real event from the stream that "failed" there.
    const event = (await eventsAfter(bus.bus, 0)).find((e: StoredEvent) => e.type === 'partner.created');
    if (!event) throw new Error('no partner.created in the stream');
    const db = createDb<PlatformTables>(dbUrl(names, 'partner-registry'), { max: 1 });
    const row = {
      consumer: 'projection:partners',
      stream_seq: event.seq,
      subject: event.subject_name,
      event_id: event.id,
      event_type: event.type,
      payload: JSON.stringify(event),
      error: 'Error: the read model was unavailable',
      attempts: 5,
      retried_at: null,
    };
    const letter = await db.insertInto('dead_letters').values(row).returning('id').executeTakeFirstOrThrow();
    const other = await db.insertInto('dead_letters').values(row).returning('id').executeTakeFirstOrThrow();
    await db.destroy();

    const { page } = admin;
    await visit(page, '/admin/operations', 'admin-operations');
    const lag = page.getByTestId('consumer-lag');
    await lag.getByRole('rowheader', { name: 'webhook-dispatcher' }).waitFor();
    // The dispatcher's work queues are durable consumers: each has a pending count (its lag), a number.
    await expect.poll(() => lag.locator('[data-testid^="lag-"]').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await lag.locator('[data-testid^="lag-"]').first().textContent()).toMatch(/^\d+$/);

    await page.getByRole('button', { name: `Retry dead letter ${letter.id}` }).click();
    await page.getByText(`Dead letter ${letter.id} retried.`).waitFor();
    await expect.poll(() => page.getByTestId(`dead-letter-state-${letter.id}`).textContent(), { timeout: 10_000 }).toMatch(/^retried/);
    await page.getByRole('button', { name: `Discard dead letter ${other.id}` }).click();
    await page.getByText(`Dead letter ${other.id} discarded.`).waitFor();
    await expect.poll(() => page.getByTestId(`dead-letter-state-${other.id}`).textContent(), { timeout: 10_000 }).toBe('discarded');
    const letters = await api('GET', '/v1/admin/services/partner-registry/dead-letters');
    const byId = (id: number) => letters.body.data.find((d: { id: number }) => d.id === id);
    expect(byId(letter.id).retried_at).not.toBeNull();
    expect(byId(other.id)).toMatchObject({ retried_at: null, discarded_at: expect.any(String) });
  });

  it('an admin rebuilds a projection beside the live one and follows its progress to done', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'Beside rebuild of partners' }).click();
    await page.getByText('Rebuild of partners started.').waitFor();
    await expect.poll(() => page.getByText(/done: \d+ \/ \d+/).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const status = await api('GET', '/v1/admin/services/partner-registry/projections');
    expect(status.body.data.find((p: { name: string }) => p.name === 'partners').rebuild.state).toBe('done');
  });

  it('an admin invites another platform admin by email, who signs in to the console', async () => {
    const { page } = admin;
    await visit(page, '/admin/admins', 'admin-invites');
    await page.getByLabel('Email').fill('second@platform.test');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText('Invitation sent to second@platform.test.').waitFor();
    await page.getByRole('cell', { name: 'second@platform.test' }).waitFor();
    const second = await acceptInvitation(await linkIn('second@platform.test'), 'second admin password');
    const nav = second.page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => nav.getByRole('link', { name: 'Operations' }).count(), { timeout: 10_000 }).toBe(1);
    const users = await api('GET', '/v1/admin/users');
    expect(users.body.data.map((u: { email: string; role: string }) => [u.email, u.role])).toContainEqual([
      'second@platform.test',
      'platform_admin',
    ]);
    await second.context.close();
  });

  it("renders a real incident's timeline and actions, and creates and edits a rollback policy", async () => {
    const { page } = owner;
    await visit(page, '/rollback-policies', 'rollback-policies');
    await page.getByLabel('Customer id').fill('cust_acme');
    await page.getByLabel('Policy name').fill('Checkout guard');
    await page.getByLabel('Mode').selectOption('approval');
    await page.getByLabel('Journeys').fill(JSON.stringify([{ funnel: 'checkout', webhooks: [{ url: `${receiverUrl}/rollback` }] }]));
    await page.getByRole('button', { name: 'Create policy' }).click();
    await page.getByRole('cell', { name: /^Checkout guard rbp_/ }).waitFor();
    const created = (await api('GET', `/v1/rollback/policies?partner_id=${acme.id}`)).body.data[0];
    expect(created).toMatchObject({ name: 'Checkout guard', mode: 'approval', max_actions: 5 });
    await page.getByRole('button', { name: 'Edit Checkout guard' }).click();
    await page.getByLabel('Most actions per incident').fill('3');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText(/Policy Checkout guard saved \(version \d+\)/).waitFor();
    await waitUntil(async () => (await api('GET', `/v1/rollback/policies/${created.id}`)).body.max_actions === 3, { what: 'the edit' });
    const edited = (await api('GET', `/v1/rollback/policies/${created.id}`)).body;
    expect(edited).toMatchObject({ name: 'Checkout guard', mode: 'approval', customer_id: 'cust_acme' });
    expect(edited.version).toBeGreaterThan(created.version);

    // The monitor (PathCanary) reports an incident through the gateway with the partner's key.
    const key = await api('POST', `/v1/partners/${acme.id}/api-keys`, { name: 'pathcanary', scopes: ['admin'] });
    await waitUntil(async () => (await api('GET', `/v1/partners/${acme.id}`, undefined, key.body.key)).status === 200, { what: 'the key' });
    const incidentId = `inc_${randomBytes(6).toString('hex')}`;
    const accepted = await api(
      'POST',
      '/v1/incidents',
      {
        incident_id: incidentId,
        customer_id: 'cust_acme',
        journey: { funnel: 'checkout', step: 'pay', url: 'https://shop.acme.example/pay' },
        severity: 'high',
        detected_at: new Date().toISOString(),
        evidence: { screenshot_url: 'https://pathcanary.example.com/s/1.png', error: 'Pay button does nothing' },
      },
      key.body.key,
    );
    expect(accepted.status).toBeLessThan(300);
    await waitUntil(async () => (await api('GET', `/v1/incidents/${incidentId}`)).status === 200, { what: 'the incident read model' });
    await visit(page, '/incidents');
    await page.getByRole('button', { name: incidentId }).click();
    const timeline = page.getByTestId('timeline');
    await expect.poll(() => timeline.locator('li').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    const incident = await api('GET', `/v1/incidents/${incidentId}`);
    for (const entry of incident.body.timeline as { summary: string }[]) await timeline.getByText(entry.summary).first().waitFor();
    await page.getByRole('heading', { name: 'Actions taken' }).waitFor();
    // The policy asks for approval: the planned action (the journey's webhook) waits until the owner approves it.
    expect(incident.body.rollback).toMatchObject({ status: 'awaiting_approval', mode: 'approval' });
    await page.getByText('Rollback awaiting_approval (approval)').waitFor();
    expect(rollbackCalls).toEqual([]);
    await page.getByRole('button', { name: 'Approve the rollback' }).click();
    await waitUntil(async () => rollbackCalls.length > 0, { what: 'the rollback webhook', timeoutMs: 30_000 });
    await page.getByText('Rollback completed (approval)').waitFor({ timeout: 20_000 });
    await page.getByRole('cell', { name: `${receiverUrl}/rollback` }).waitFor();
    await page.getByRole('cell', { name: /^succeeded, 1 attempts/ }).waitFor();
    const done = await api('GET', `/v1/incidents/${incidentId}`);
    expect(done.body.rollback.actions).toContainEqual(expect.objectContaining({ kind: 'webhook', status: 'succeeded' }));
    for (const entry of done.body.timeline as { summary: string }[]) await timeline.getByText(entry.summary).first().waitFor();
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/incident-timeline.png`, fullPage: true });
    for (const v of await seriousViolations(page)) axeFindings.push(`/incidents (detail): ${v}`);
  });

  it('finds no serious or critical accessibility violation on the new pages, also at phone width', async () => {
    await admin.page.setViewportSize({ width: 390, height: 800 });
    for (const path of ['/admin/partners', '/admin/reviews', '/admin/operations', '/admin/admins', '/incidents', '/rollback-policies'])
      await visit(admin.page, path, path === '/admin/operations' ? 'phone-operations' : undefined);
    await owner.page.setViewportSize({ width: 390, height: 800 });
    for (const path of ['/incidents', '/rollback-policies']) await visit(owner.page, path);
    await admin.context.close();
    await owner.context.close();
    expect(axeFindings).toEqual([]);
  });
});
