import type { Partner } from '@pep/contracts';
import { createTestBus, freePort, type ServiceProcess, serviceEnv, spawnService, testNames, waitReady, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../gateway/test/support/gateway.ts';

// The registry's routes end to end: real gateway and registry processes, HTTP in, NATS request-reply between.
const names = testNames('reghttp');
let bus: Awaited<ReturnType<typeof createTestBus>>;
let registry: ServiceProcess;
let gw: Awaited<ReturnType<typeof startGateway>>;

type Res = { status: number; type: string; body: Record<string, unknown> & { data?: Record<string, unknown>[] } };
const call = async (token: string, method: string, path: string, body?: unknown): Promise<Res> => {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: text ? JSON.parse(text) : {} };
};
const admin = (method: string, path: string, body?: unknown) => call(gw.adminKey, method, path, body);

beforeAll(async () => {
  bus = await createTestBus(names, ['gateway', 'partner-registry']);
  const healthPort = await freePort();
  registry = spawnService('partner-registry', serviceEnv(names, { HEALTH_PORT: String(healthPort) }));
  gw = await startGateway(names, { RATE_LIMIT_ENABLED: 'false' });
  await waitReady(`http://127.0.0.1:${healthPort}/readyz`, registry);
});
afterAll(async () => {
  await gw?.proc.stop();
  await registry?.stop();
  await bus?.cleanup();
});

describe('partner-registry over HTTP', () => {
  it('creates, pages, updates, activates and suspends partners; an illegal transition is a 409 problem', async () => {
    const created = await admin('POST', '/v1/partners', { name: 'Http Partner', type: 'reseller', contact_email: 'ops@http.test' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ object: 'partner', status: 'pending', type: 'reseller', tier: 'standard' });
    const id = created.body.id as string;
    expect((await admin('GET', `/v1/partners/${id}`)).body).toEqual(created.body);
    await admin('POST', '/v1/partners', { name: 'Second', type: 'technology', contact_email: 'b@http.test' });

    const first = await admin('GET', '/v1/partners?limit=1');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ has_more: true });
    const next = await admin('GET', `/v1/partners?limit=1&starting_after=${first.body.data?.[0]?.id}`);
    expect(next.body.data?.[0]?.id).not.toBe(first.body.data?.[0]?.id);

    expect((await admin('PATCH', `/v1/partners/${id}`, { name: 'Renamed' })).body).toMatchObject({ name: 'Renamed' });
    expect((await admin('POST', `/v1/partners/${id}/activate`, {})).body).toMatchObject({ status: 'active' });
    expect((await admin('POST', `/v1/partners/${id}/suspend`, { reason: 'fraud check' })).body).toMatchObject({
      status: 'suspended',
      status_reason: 'fraud check',
    });
    await admin('POST', `/v1/partners/${id}/terminate`, { reason: 'ended' });
    const illegal = await admin('POST', `/v1/partners/${id}/suspend`, { reason: 'again' });
    expect(illegal.status).toBe(409);
    expect(illegal.type).toMatch(/application\/problem\+json/);
    expect(illegal.body).toMatchObject({ status: 409, title: expect.any(String) });
    expect((await admin('GET', '/v1/partners/prt_unknown')).status).toBe(404);
    expect((await admin('POST', '/v1/partners', { name: 'x', type: 'nope', contact_email: 'x@y.test' })).status).toBe(422);
  });

  it("answers 404 to partner A's credentials on every registry route for partner B's resources, and changes nothing", async () => {
    const mk = async (name: string) => {
      const p = (await admin('POST', '/v1/partners', { name, type: 'technology', contact_email: 'o@t.test' })).body as Partner;
      await admin('POST', `/v1/partners/${p.id}/activate`, {});
      const key = await admin('POST', `/v1/partners/${p.id}/api-keys`, { name: 'k', scopes: ['write:*'] });
      expect(key.status).toBe(201);
      return { id: p.id, key: key.body.key as string };
    };
    const a = await mk('A');
    const b = await mk('B');
    // The gateway learns new keys from its projection: wait until B's key works.
    await waitUntil(async () => (await call(b.key, 'GET', `/v1/partners/${b.id}`)).status === 200, { what: "B's key" });
    await waitUntil(async () => (await call(a.key, 'GET', `/v1/partners/${a.id}`)).status === 200, { what: "A's key" });

    const contact = await call(b.key, 'POST', `/v1/partners/${b.id}/contacts`, { name: 'C', email: 'c@b.test', role: 'technical' });
    expect(contact.status).toBe(201);
    const app = await call(b.key, 'POST', '/v1/applications', { name: 'B app', description: 'd' });
    expect(app.status).toBe(201);
    const ticket = await call(b.key, 'POST', '/v1/support/tickets', { subject: 'help', description: 'd' });
    expect(ticket.status).toBe(201);
    const appId = app.body.id as string;
    const ticketId = ticket.body.id as string;

    const attempts: [string, string, unknown?][] = [
      ['GET', `/v1/partners/${b.id}`],
      ['PATCH', `/v1/partners/${b.id}`, { name: 'pwned' }],
      ['GET', `/v1/partners/${b.id}/contacts`],
      ['POST', `/v1/partners/${b.id}/contacts`, { name: 'X', email: 'x@a.test', role: 'primary' }],
      ['DELETE', `/v1/partners/${b.id}/contacts/${contact.body.id}`],
      ['GET', `/v1/partners/${b.id}/agreements`],
      ['GET', `/v1/applications/${appId}`],
      ['PATCH', `/v1/applications/${appId}`, { name: 'pwned' }],
      ['POST', `/v1/applications/${appId}/submit`, {}],
      ['POST', `/v1/applications/${appId}/publish`, {}],
      ['POST', `/v1/applications/${appId}/retire`, {}],
      ['POST', '/v1/applications', { name: 'n', description: 'd', partner_id: b.id }],
      ['POST', '/v1/integrations', { application_id: appId, customer_id: 'cus_1' }],
      ['GET', `/v1/support/tickets/${ticketId}`],
      ['POST', `/v1/support/tickets/${ticketId}/comments`, { body: 'x' }],
      ['POST', `/v1/support/tickets/${ticketId}/status`, { status: 'closed' }],
    ];
    for (const [method, path, body] of attempts) {
      const r = await call(a.key, method, path, body);
      expect(r.status, `${method} ${path}`).toBe(404);
    }
    for (const path of ['/v1/partners', '/v1/applications', '/v1/support/tickets', '/v1/integrations']) {
      const list = await call(a.key, 'GET', `${path}?partner_id=${b.id}`);
      expect(list.status, path).toBe(200);
      expect(JSON.stringify(list.body.data), path).not.toContain(b.id);
    }
    // Nothing changed.
    expect((await admin('GET', `/v1/partners/${b.id}`)).body).toMatchObject({ name: 'B' });
    expect((await admin('GET', `/v1/applications/${appId}`)).body).toMatchObject({ name: 'B app', status: 'draft' });
    expect((await admin('GET', `/v1/support/tickets/${ticketId}`)).body).toMatchObject({ status: 'open', comments: [] });
    expect((await admin('GET', `/v1/partners/${b.id}/contacts`)).body.data).toHaveLength(1);
  });
});
