// Tenant isolation matrix (issue 4, item 9). Partner A's credential (an API key with `admin` scope: every
// scope within its own tenant) calls every route of the contracts' route table on partner B's resources.
// Each must be refused with 404, exactly as if the resource did not exist, and nothing of B's may change.
// The routes come from the table itself: a route added later without a fixture here fails this test.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RouteContract, routes, type StoredEvent } from '@pep/contracts';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import {
  at,
  bodyOf,
  type Created,
  type Page,
  eventsAfter as eventsAfterIn,
  createTestBus,
  type FakeStripe,
  freePort,
  newPartner,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  startFakeStripe,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const names = testNames('isolation');
// github-bridge serves only platform-admin routes, which the gateway refuses to partner credentials itself.
const SERVICES = ['partner-registry', 'webhook-dispatcher', 'rollback-orchestrator', 'billing', 'marketplace'];
let bus: Awaited<ReturnType<typeof createTestBus>>;
const procs: ServiceProcess[] = [];
let gatewayUrl: string;
let adminKey: string;
let receiver: Server;
let receiverUrl: string;
let smtp: TestSmtpServer;
let stripe: FakeStripe;

interface Reply {
  status: number;
  body: unknown;
}
/** An API key, or a portal session (its cookie, CSRF token and this site's Origin, as the portal sends them). */
type Credential = string | { cookie: string; csrf: string };
const credentialHeaders = (c: Credential): Record<string, string> =>
  typeof c === 'string' ? { authorization: `Bearer ${c}` } : { cookie: c.cookie, 'x-csrf-token': c.csrf, origin: gatewayUrl };
async function call(token: Credential, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers: { ...credentialHeaders(token), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: bodyOf(await res.text()) };
}
async function must<T = Created>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await call(token, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as T;
}

/** Everything partner B owns, one of each kind of resource the API has. */
interface Fixtures {
  partner: string;
  key: string;
  contact: string;
  spareKey: string;
  application: string;
  client: string;
  integration: string;
  ticket: string;
  endpoint: string;
  delivery: string;
  job: string;
  incident: string;
  policy: string;
  subscription: string;
  invoice: string;
  payout: string;
  review: string;
  listing: string;
  user: string;
  session: string;
}

const HTTPS = 'https://b.example.com';
const policyBody = { customer_id: 'cust_b', name: 'B policy', journeys: [{ funnel: 'checkout' }] };

/** Path params of each route, pointing at B's resources (keyed by the route's path prefix). */
function paramsFor(route: RouteContract, b: Fixtures): Record<string, string> | undefined {
  const byPrefix: [string, Record<string, string>][] = [
    ['/v1/partners/:id', { id: b.partner, contact_id: b.contact }],
    ['/v1/api-keys/:id', { id: b.spareKey }],
    ['/v1/applications/:id', { id: b.application }],
    ['/v1/oauth-clients/:id', { id: b.client }],
    ['/v1/integrations/:id', { id: b.integration }],
    ['/v1/support/tickets/:id', { id: b.ticket }],
    ['/v1/webhook-endpoints/:id', { id: b.endpoint }],
    ['/v1/deliveries/:id', { id: b.delivery }],
    ['/v1/webhook-jobs/:id', { id: b.job }],
    ['/v1/incidents/:id', { id: b.incident }],
    ['/v1/rollback/policies/:id', { id: b.policy }],
    // Plans are the platform's catalogue (every partner reads them), not B's: an unknown one is the 404 case.
    ['/v1/billing/plans/:code', { code: 'no_such_plan' }],
    ['/v1/billing/invoices/:id', { id: b.invoice }],
    ['/v1/billing/payouts/:id', { id: b.payout }],
    ['/v1/marketplace/reviews/:id', { id: b.review }],
    ['/v1/marketplace/listings/:id', { id: b.listing, customer_id: 'cust_b' }],
    ['/v1/partner-users/:id', { id: b.user }],
    ['/v1/auth/sessions/:id', { id: b.session }],
    ['/v1/marketplace/categories/:slug', { slug: 'leads' }],
  ];
  return byPrefix.find(([prefix]) => route.path === prefix || route.path.startsWith(`${prefix}/`))?.[1];
}

/** A valid body for each write, so the request reaches the owning service (a 422 at the gateway would prove nothing). */
function bodyFor(route: RouteContract, b: Fixtures): unknown {
  const bodies: Record<string, unknown> = {
    updatePartner: { name: 'Hijacked' },
    addPartnerContact: { name: 'Mallory', email: 'mallory@example.com', role: 'technical' },
    createApiKey: { name: 'stolen', scopes: ['read:*'] },
    rotateApiKey: { overlap_hours: 0 },
    createOAuthClient: { type: 'confidential', scopes: ['read:*'] },
    updateApplication: { name: 'Hijacked' },
    commentTicket: { body: 'pwned' },
    changeTicketStatus: { status: 'closed' },
    updateWebhookEndpoint: { url: `${receiverUrl}/evil` },
    recoverWebhookDeliveries: { since: new Date(Date.now() - 3_600_000).toISOString() },
    replayWebhookEvents: { since: new Date(Date.now() - 3_600_000).toISOString() },
    setIntegrationMapping: { event_type: '*', expression: '{ "hijacked": true }' },
    previewIntegrationMapping: { event: { type: 'lead.created', data: {} } },
    resolveIncident: { reason: 'hijacked' },
    approveRollback: { comment: 'hijacked' },
    replaceRollbackPolicy: { ...policyBody, name: 'Hijacked' },
    respondToReview: { body: 'hijacked answer' },
    inviteUser: { email: 'mallory@example.com', role: 'owner' },
    changeUserRole: { role: 'owner' },
    reportReview: { reason: 'spam', note: 'hijacked report' },
    saveListingDraft: { tagline: 'Hijacked' },
    // Collection routes that name a partner: A names B.
    createApplication: { name: 'Hijack', description: 'x', partner_id: b.partner },
    openTicket: { subject: 'x', description: 'x', partner_id: b.partner },
    createWebhookEndpoint: { url: `${receiverUrl}/evil`, event_types: ['lead.*'], partner_id: b.partner },
    createRollbackPolicy: { ...policyBody, partner_id: b.partner },
    createBillingSubscription: { partner_id: b.partner, plan_code: 'iso_basic', effective_date: '2030-01-01' },
    changeBillingSubscription: { partner_id: b.partner, plan_code: 'iso_basic', effective_date: '2030-02-01' },
    updateBillingSettings: { partner_id: b.partner, timezone: 'Europe/Berlin' },
    createIncident: {
      incident_id: `inc_${randomBytes(4).toString('hex')}`,
      customer_id: 'cust_b',
      journey: { funnel: 'checkout', step: 'pay', url: `${HTTPS}/pay` },
      severity: 'high',
      detected_at: new Date().toISOString(),
      partner_id: b.partner,
    },
  };
  if (route.operationId in bodies) return bodies[route.operationId];
  return route.body ? {} : undefined;
}

const fill = (path: string, params: Record<string, string>) => path.replace(/:([a-z_]+)/g, (_, k: string) => params[k] ?? `missing_${k}`);

const eventsAfter = (seq: number) => eventsAfterIn(bus.bus, seq);
const lastSeq = async () => (await bus.bus.jsm.streams.info(names.STREAM_NAME)).state.last_seq;
const touches = (e: StoredEvent, partnerId: string) =>
  e.partnerid === partnerId || (e.data as { partner_id?: string } | undefined)?.partner_id === partnerId;

/** A portal user of the partner, invited by its key and signed in through the emailed invitation. */
async function signedInMember(partner: { id: string; key: string }, email: string) {
  const user = await must(partner.key, 'POST', `/v1/partners/${partner.id}/users`, { email, role: 'owner' });
  const mail = await smtp.waitFor((m) => m.to.includes(email));
  const token = decodeURIComponent(/#token=([^\s"<]+)/.exec(mail.text)?.[1] ?? '');
  const res = await fetch(`${gatewayUrl}/v1/auth/invitations/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gatewayUrl },
    body: JSON.stringify({ token, password: 'a long enough password' }),
  });
  const body = (await res.json()) as { session: { id: string }; csrf_token: string };
  if (res.status !== 200) throw new Error(`accept invitation → ${res.status} ${JSON.stringify(body)}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { user: user.id, session: body.session.id, credential: { cookie, csrf: body.csrf_token } };
}

async function partnerWithKey(name: string): Promise<{ id: string; key: string }> {
  const p = await newPartner((method, path, body) => must(adminKey, method, path, body), name);
  const key = p.key as string;
  await waitUntil(async () => (await call(key, 'GET', `/v1/partners/${p.id}`)).status === 200);
  return { id: p.id, key };
}

async function fixturesOf(partner: { id: string; key: string }): Promise<Fixtures> {
  const k = partner.key;
  const contact = await must(k, 'POST', `/v1/partners/${partner.id}/contacts`, {
    name: 'Bob',
    email: 'bob@b.example.com',
    role: 'technical',
  });
  const spareKey = await must(k, 'POST', `/v1/partners/${partner.id}/api-keys`, { name: 'spare', scopes: ['read:*'] });
  const app = await must(k, 'POST', '/v1/applications', {
    name: 'B app',
    description: 'B application',
    redirect_uris: [`${HTTPS}/callback`],
    scopes: ['read:partners'],
    webhook_url: `${receiverUrl}/app-webhook`,
    health_url: `${receiverUrl}/health`,
    privacy_url: `${HTTPS}/privacy`,
    terms_url: `${HTTPS}/terms`,
  });
  const client = await must<{ id: string; client_id: string }>(k, 'POST', `/v1/applications/${app.id}/oauth-clients`, {
    type: 'confidential',
    scopes: ['read:*'],
  });
  await must(k, 'POST', `/v1/applications/${app.id}/submit`, {});
  await must(adminKey, 'POST', `/v1/applications/${app.id}/start-review`, {});
  await must(adminKey, 'POST', `/v1/applications/${app.id}/approve`, {});
  await must(k, 'POST', `/v1/applications/${app.id}/publish`, {});
  const integration = await must(k, 'POST', '/v1/integrations', { application_id: app.id, customer_id: 'cust_b' });
  const ticket = await must(k, 'POST', '/v1/support/tickets', { subject: 'Help', description: 'Please' });
  const endpoint = await must(k, 'POST', '/v1/webhook-endpoints', { url: `${receiverUrl}/hook`, event_types: ['lead.*'] });
  await must(k, 'POST', '/v1/events', {
    specversion: '1.0',
    id: `lead-${randomBytes(4).toString('hex')}`,
    source: 'crm',
    type: 'lead.created',
    time: new Date().toISOString(),
    data: { lead_id: 'l1', email: 'lead@b.example.com' },
  });
  const delivery = await waitUntil(async () => {
    const page = await must<Page>(k, 'GET', `/v1/webhook-endpoints/${endpoint.id}/deliveries`);
    return page.data.find((d) => d.status === 'succeeded');
  });
  const job = await must(k, 'POST', `/v1/webhook-endpoints/${endpoint.id}/replay`, { since: new Date(Date.now() - 600_000).toISOString() });
  const incident = await must<{ incident_id: string }>(k, 'POST', '/v1/incidents', {
    incident_id: `inc_${randomBytes(4).toString('hex')}`,
    customer_id: 'cust_b',
    journey: { funnel: 'checkout', step: 'pay', url: `${HTTPS}/pay` },
    severity: 'low',
    detected_at: new Date().toISOString(),
  });
  const policy = await must(k, 'POST', '/v1/rollback/policies', policyBody);
  await must(adminKey, 'POST', '/v1/billing/plans', {
    code: 'iso_basic',
    name: 'Basic',
    currency: 'USD',
    model: 'flat_fee',
    interval: 'month',
    amount: 1000,
  });
  const subscription = await must(k, 'POST', '/v1/billing/subscriptions', { plan_code: 'iso_basic', effective_date: '2026-01-01' });
  await must(adminKey, 'POST', '/v1/billing/invoice-runs', { period: '2026-01' });
  const invoices = await must<Page>(k, 'GET', '/v1/billing/invoices');
  // Billing collects B's invoice through the fake Stripe; wait for the paid webhook so it does not land mid-matrix.
  await waitUntil(async () => (await must<{ status: string }>(k, 'GET', `/v1/billing/invoices/${invoices.data[0]?.id}`)).status === 'paid');
  // B's revenue-share payout: a customer B referred pays through (fake) Stripe, whose signed webhook syncs it.
  const referred = stripe.createCustomer({ metadata: { partner_id: partner.id } });
  stripe.createCharge({ customer: referred.id, amount: 100_000, created: new Date('2026-01-15T00:00:00Z') });
  await stripe.settled();
  await must(adminKey, 'POST', '/v1/billing/payout-runs', { period: '2026-01' });
  const payout = await must<Page>(k, 'GET', '/v1/billing/payouts');
  // B's published application is a marketplace listing; a customer installs and reviews it (platform admin calls).
  const listing = await waitUntil(async () => {
    const page = await must<Page>(k, 'GET', '/v1/marketplace/listings?q=B%20app&limit=100');
    return page.data.find((l) => l.application_id === app.id);
  });
  await must(adminKey, 'POST', `/v1/marketplace/listings/${listing.id}/installs`, { customer_id: 'cust_b' });
  const review = await must(adminKey, 'POST', `/v1/marketplace/listings/${listing.id}/reviews`, {
    customer_id: 'cust_b',
    rating: 4,
    body: 'Good',
  });
  const portalUser = await signedInMember(partner, `owner-${partner.id.slice(-8)}@b.example.com`);
  return {
    user: portalUser.user,
    session: portalUser.session,
    partner: partner.id,
    key: k,
    contact: contact.id,
    spareKey: spareKey.id,
    application: app.id,
    client: client.client_id,
    integration: integration.id,
    ticket: ticket.id,
    endpoint: endpoint.id,
    delivery: delivery.id,
    job: job.id,
    incident: incident.incident_id,
    policy: policy.id,
    subscription: subscription.id,
    invoice: invoices.data[0]!.id,
    payout: payout.data[0]!.id,
    review: review.id,
    listing: listing.id,
  };
}

/** What B can see of its own resources (its reads of every kind), to compare before and after. */
async function snapshot(b: Fixtures): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const route of routes) {
    if (route.method !== 'GET' || route.adminOnly || route.public) continue;
    const params = paramsFor(route, b);
    if (!params && route.path.includes(':')) continue;
    const path = fill(route.path, params ?? {});
    if (
      path.startsWith('/v1/webhook-jobs/') ||
      path.includes('/deliveries') ||
      path.endsWith('/traffic') ||
      path.startsWith('/v1/api-keys/') ||
      path.endsWith('/api-keys')
    )
      continue; // progress counters, traffic and last-used times move by themselves
    out[path] = (await call(adminKey, 'GET', params ? path : `${path}?partner_id=${b.partner}`)).body;
  }
  return out;
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  bus = await createTestBus(names, ['gateway', ...SERVICES]);
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const secret = randomBytes(32).toString('hex');
  const common = { STREAM_MAX_AGE_HOURS: '2' };
  const env: Record<string, Record<string, string>> = {
    'partner-registry': { SSRF_ALLOW: '127.0.0.1/32', ALLOW_HTTP_URLS: 'true', SMTP_URL: smtp.url },
    'webhook-dispatcher': { WEBHOOK_SECRET_KEY: secret, WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8', WEBHOOK_POLL_MS: '50' },
    'rollback-orchestrator': { ROLLBACK_SECRETS_KEY: secret, OUTBOUND_ALLOWLIST: '127.0.0.1' },
  };
  const port = await freePort();
  stripe = await startFakeStripe({ webhookUrl: `http://127.0.0.1:${port}/v1/billing/webhooks/stripe` });
  env.billing = { STRIPE_API_KEY: stripe.apiKey, STRIPE_WEBHOOK_SECRET: stripe.webhookSecret, STRIPE_API_BASE: stripe.url };
  adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const gw = spawnService(
    'gateway',
    serviceEnv(names, { ...common, GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_ENABLED: 'false' }),
  );
  procs.push(gw);
  gatewayUrl = `http://127.0.0.1:${port}`;
  const ready = [waitReady(`${gatewayUrl}/readyz`, gw)];
  for (const s of SERVICES) {
    const health = await freePort();
    const p = spawnService(s, serviceEnv(names, { ...common, HEALTH_PORT: String(health), ...env[s] }));
    procs.push(p);
    ready.push(waitReady(`http://127.0.0.1:${health}/readyz`, p));
  }
  await Promise.all(ready);
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  receiver?.close();
  await bus?.cleanup();
  await smtp?.close();
  await stripe?.close();
});

describe('tenant isolation matrix', () => {
  it("refuses partner A (its API key and its portal user's session) every read and write on partner B's resources with 404, and changes nothing", async () => {
    const a = await partnerWithKey('Alpha');
    const aMember = await signedInMember(a, 'owner@alpha.example.com');
    const bPartner = await partnerWithKey('Beta');
    const b = await fixturesOf(bPartner);
    // Let asynchronous work on B's resources settle before the baseline (deliveries, jobs, incident runs).
    await new Promise((r) => setTimeout(r, 1500));
    const before = await snapshot(b);
    const fromSeq = await lastSeq();

    const results: { route: string; status: number; expected: number[]; detail?: unknown }[] = [];
    const uncovered: string[] = [];
    const credentials: [string, Credential][] = [
      ['API key', a.key],
      ['portal session', aMember.credential],
    ];
    for (const [credential, token] of credentials)
      for (const route of routes) {
        const label = `${credential}: ${route.method} ${route.path} (${route.operationId})`;
        if (route.public) continue; // unauthenticated by design (webhook ingress): no tenant resource behind it
        // Platform-admin routes are refused by the gateway before any resource is looked up (403).
        const params = paramsFor(route, b) ?? (route.adminOnly ? { owner: 'b-org', repo: 'b-repo' } : undefined);
        const hasParams = route.path.includes(':');
        if (hasParams && !params) {
          uncovered.push(label);
          continue;
        }
        const body = bodyFor(route, b);
        if (!hasParams && route.method === 'POST' && !(body as { partner_id?: string } | undefined)?.partner_id && !route.adminOnly) {
          continue; // creating a resource of one's own is not an isolation question
        }
        const r = await call(token, route.method, fill(route.path, params ?? {}), body);
        if (!hasParams && route.method === 'GET') {
          // Lists: A's answer must not mention anything of B's.
          const text = JSON.stringify(r.body);
          const leaked = Object.values(b).filter((id) => id !== b.key && text.includes(id));
          results.push({ route: label, status: leaked.length ? 999 : r.status, expected: [200, 403] });
          continue;
        }
        results.push({
          route: label,
          status: r.status,
          expected: route.adminOnly ? [403] : [404],
          detail: r.status >= 400 ? at(r.body, 'detail') : undefined,
        });
      }

    expect(uncovered, 'routes without a fixture in this matrix').toEqual([]);
    const wrong = results.filter((x) => !x.expected.includes(x.status));
    expect(wrong, 'routes that did not refuse partner A as expected').toEqual([]);
    expect(results.length).toBeGreaterThan(100);

    // Nothing of B's changed: no event about B since the matrix started, and B's resources read the same.
    await new Promise((r) => setTimeout(r, 500));
    // Usage bookkeeping of B's own earlier requests (key last-used, the gateway's and dispatcher's minute rollups)
    // may be appended during the matrix; it changes none of B's resources.
    const bookkeeping = new Set(['api_key.used', 'api_usage.rolled_up', 'webhook.deliveries.rolled_up']);
    const aboutB = (await eventsAfter(fromSeq)).filter((e) => touches(e, b.partner) && !bookkeeping.has(e.type));
    expect(aboutB.map((e) => e.type)).toEqual([]);
    expect(await snapshot(b)).toEqual(before);
    // And B's credential still works.
    expect((await call(b.key, 'GET', `/v1/partners/${b.partner}`)).status).toBe(200);
  });
});
