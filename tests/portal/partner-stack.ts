// The running stack for the partner pages' browser tests: gateway, partner-registry, webhook-dispatcher, billing and
// marketplace as processes, a real SMTP server (invitations), a loopback webhook receiver, and Debian's Chromium.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { createTestBus, freePort, REPO_ROOT, type ServiceProcess, serviceEnv, spawnService, testNames, waitReady } from '@pep/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, seriousViolations } from './browser.ts';

export interface Received {
  path: string;
  body: string;
}

export interface PartnerStack {
  gw: string;
  adminKey: string;
  receiverUrl: string;
  received: Received[];
  browser: Browser;
  smtp: TestSmtpServer;
  /** Serious/critical axe findings of every `visit`. */
  axeFindings: string[];
  /** Where screenshots go when PORTAL_SCREENSHOTS is set. */
  shots: string | undefined;
  stop(): Promise<void>;
}

const SERVICES = ['gateway', 'partner-registry', 'webhook-dispatcher', 'billing', 'marketplace'];

export async function startPartnerStack(label: string): Promise<PartnerStack> {
  const names = testNames(label);
  const procs: ServiceProcess[] = [];
  const smtp = await startTestSmtpServer();
  const shots = process.env.PORTAL_SCREENSHOTS ? `${REPO_ROOT}/docs/portal` : undefined;
  if (shots) mkdirSync(shots, { recursive: true });
  const received: Received[] = [];
  const receiver: Server = createServer((req, res) => {
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
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const bus = await createTestBus(names, SERVICES);
  const port = await freePort();
  const gw = `http://127.0.0.1:${port}`;
  const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const common = { STREAM_MAX_AGE_HOURS: '2', HEALTH_PORT: '0' };
  procs.push(
    spawnService(
      'partner-registry',
      serviceEnv(names, {
        ...common,
        SMTP_URL: smtp.url,
        PORTAL_URL: 'http://127.0.0.1:9/portal',
        SSRF_ALLOW: '127.0.0.1/32',
        ALLOW_HTTP_URLS: 'true',
      }),
    ),
    spawnService(
      'webhook-dispatcher',
      serviceEnv(names, {
        ...common,
        WEBHOOK_SECRET_KEY: randomBytes(32).toString('hex'),
        WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8',
        WEBHOOK_POLL_MS: '50',
      }),
    ),
    spawnService('billing', serviceEnv(names, common)),
    spawnService('marketplace', serviceEnv(names, common)),
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
  await waitReady(`${gw}/readyz`, gateway, 120_000);
  const browser = await launchChromium();
  return {
    gw,
    adminKey,
    receiverUrl,
    received,
    browser,
    smtp,
    axeFindings: [],
    shots,
    async stop() {
      await browser.close();
      await Promise.all(procs.map((p) => p.stop()));
      receiver.close();
      await smtp.close();
      await bus.cleanup();
    },
  };
}

/** A JSON client of the public API with a bearer credential (the platform admin key unless another is given). */
export function apiOf(stack: PartnerStack) {
  return async (method: string, path: string, body?: unknown, token = stack.adminKey) => {
    const res = await fetch(`${stack.gw}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}
export type Api = ReturnType<typeof apiOf>;

/** An active partner and an API key of it with every scope (to set up data the way a partner's code would). */
export async function partnerWithKey(api: Api, name: string): Promise<{ id: string; key: string }> {
  const p = await api('POST', '/v1/partners', {
    name,
    type: 'technology',
    contact_email: `ops@${name.toLowerCase().replace(/\W/g, '')}.test`,
  });
  if (p.status !== 201) throw new Error(`partner: ${p.status} ${JSON.stringify(p.body)}`);
  await api('POST', `/v1/partners/${p.body.id}/activate`, {});
  const k = await api('POST', `/v1/partners/${p.body.id}/api-keys`, { name: 'setup', scopes: ['admin'] });
  if (k.status !== 201) throw new Error(`key: ${k.status} ${JSON.stringify(k.body)}`);
  return { id: p.body.id, key: k.body.key };
}

/** Invite (admin key) → the email from the SMTP server → the accept page → password → signed in, in its own browser. */
export async function memberBrowser(
  stack: PartnerStack,
  partnerId: string,
  email: string,
  role: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const res = await apiOf(stack)('POST', `/v1/partners/${partnerId}/users`, { email, role });
  if (res.status !== 201) throw new Error(`invite: ${res.status} ${JSON.stringify(res.body)}`);
  const mail = await stack.smtp.waitFor((m) => m.to.includes(email) && /invited/.test(m.subject));
  const link = /(http:\/\/\S+#token=[^\s"<]+)/.exec(mail.text)?.[1];
  if (!link) throw new Error(`no link in ${mail.text}`);
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(link.replace('http://127.0.0.1:9/portal', `${stack.gw}/portal`));
  await page.getByLabel('Choose a password').fill(`${role} password for tests`);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  return { context, page };
}

/** A visit that records the page's serious/critical accessibility findings and, if asked, a screenshot. */
export async function visit(stack: PartnerStack, page: Page, path: string, shot?: string): Promise<void> {
  await page.goto(`${stack.gw}/portal${path}`);
  await page.locator('h1').first().waitFor();
  await page.waitForLoadState('networkidle');
  await scan(stack, page, path, shot);
}

/** The axe scan (and screenshot) of the page as it is now. */
export async function scan(stack: PartnerStack, page: Page, where: string, shot?: string): Promise<void> {
  for (const v of await seriousViolations(page)) stack.axeFindings.push(`${where}: ${v}`);
  if (stack.shots && shot) await page.screenshot({ path: `${stack.shots}/${shot}.png` });
}
