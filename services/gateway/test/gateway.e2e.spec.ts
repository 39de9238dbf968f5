import { randomBytes } from 'node:crypto';
import { decodeEvent } from '@pep/events';
import { createTestBus, jsonOrUndefined, testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, startResponder } from './support/gateway.ts';

const names = testNames('gw');
let t: Awaited<ReturnType<typeof createTestBus>>;
let gw: Awaited<ReturnType<typeof startGateway>>;
let rpc: Awaited<ReturnType<typeof startResponder>>;

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const lead = (id: string, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id,
  source: 'crm.test',
  type: 'lead.created',
  data: { lead_id: `l_${id}`, email: `${id}@example.com` },
  ...extra,
});
const uid = () => randomBytes(6).toString('hex');

async function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; raw?: string } = {}) {
  const headers: Record<string, string> = { ...gw.auth, ...(opts.headers ?? {}) };
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(gw.url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const json = jsonOrUndefined(text) as IngestAnswer;
  return { status: res.status, headers: res.headers, json, text };
}

/** What this file reads of the gateway's answers: the accepted events, or a problem (fields absent otherwise). */
interface IngestAnswer {
  data: { id: string; seq: number; duplicate: boolean }[];
  errors: { index: number; path: string }[];
  type: string;
  status: number;
  title: string;
}

const streamCount = async () => (await t.bus.jsm.streams.info(names.STREAM_NAME)).state.messages;

beforeAll(async () => {
  t = await createTestBus(names, ['gateway']);
  // No start-up wait: the routes without a stand-in must answer 503 at once.
  gw = await startGateway(names, { GATEWAY_STARTUP_WAIT_MS: '0' });
  rpc = await startResponder(names);
});

afterAll(async () => {
  await rpc?.close();
  await gw?.proc.stop();
  await t?.cleanup();
});

describe('POST /v1/events', () => {
  it('publishes one event to the stream with dedupe key, tenant subject and the request trace', async () => {
    const id = uid();
    const r = await call('POST', '/v1/events', { body: lead(id), headers: { traceparent: TRACEPARENT } });
    expect(r.status).toBe(202);
    expect(r.json.data).toEqual([{ id, seq: expect.any(Number), duplicate: false }]);
    const msg = await t.bus.jsm.streams.getMessage(names.STREAM_NAME, { seq: r.json.data[0]!.seq });
    expect(msg?.subject).toBe(`${names.SUBJECT_PREFIX}.ext._.lead.created`);
    expect(msg?.header.get('Nats-Msg-Id')).toBe(`_:${id}`);
    expect(msg?.header.get('traceparent')).toContain(TRACE_ID);
    const event = decodeEvent(msg!);
    expect(event).toMatchObject({ id, type: 'lead.created', data: { lead_id: `l_${id}` } });
    expect(event.traceparent).toContain(TRACE_ID);
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('publishes a batch, each event to its own message, and an admin may name the tenant', async () => {
    const before = await streamCount();
    const ids = [uid(), uid(), uid()];
    const r = await call('POST', '/v1/events', { body: ids.map((id) => lead(id, { partnerid: 'prt_acme' })) });
    expect(r.status).toBe(202);
    expect(r.json.data.map((d: { id: string }) => d.id)).toEqual(ids);
    expect(new Set(r.json.data.map((d: { seq: number }) => d.seq)).size).toBe(3);
    expect(await streamCount()).toBe(before + 3);
    const msg = await t.bus.jsm.streams.getMessage(names.STREAM_NAME, { seq: r.json.data[1]!.seq });
    expect(msg?.subject).toBe(`${names.SUBJECT_PREFIX}.ext.prt_acme.lead.created`);
  });

  it('stores a reposted event id once', async () => {
    const id = uid();
    const first = await call('POST', '/v1/events', { body: lead(id) });
    const count = await streamCount();
    const again = await call('POST', '/v1/events', { body: lead(id) });
    expect(again.status).toBe(202);
    expect(again.json.data[0]).toEqual({ id, seq: first.json.data[0]!.seq, duplicate: true });
    expect(await streamCount()).toBe(count);
  });

  it('refuses a batch with one invalid event with 422 naming index and path, and publishes nothing', async () => {
    const before = await streamCount();
    const r = await call('POST', '/v1/events', {
      body: [lead(uid()), lead(uid(), { data: { lead_id: 'x', email: 'not-an-email' } }), lead(uid())],
    });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.json.errors).toEqual([expect.objectContaining({ index: 1, path: 'data.email' })]);
    expect(await streamCount()).toBe(before);
  });

  it('refuses domain events and unknown types with 422 naming `type`', async () => {
    const domain = await call('POST', '/v1/events', {
      body: lead(uid(), { type: 'partner.suspended', data: { partner_id: 'p', reason: 'x' } }),
    });
    expect(domain.status).toBe(422);
    expect(domain.json.errors[0]).toMatchObject({ index: 0, path: 'type' });
    const unknown = await call('POST', '/v1/events', { body: lead(uid(), { type: 'lead.vanished' }) });
    expect(unknown.status).toBe(422);
    expect(unknown.json.errors[0]).toMatchObject({ index: 0, path: 'type' });
  });

  it('answers 413 for more than 500 events or a body over 1 MiB', async () => {
    const many = await call('POST', '/v1/events', { body: Array.from({ length: 501 }, () => lead(uid())) });
    expect(many.status).toBe(413);
    expect(many.json.type).toMatch(/batch-too-large$/);
    const huge = await call('POST', '/v1/events', {
      body: lead(uid(), { data: { lead_id: 'x', email: 'a@b.co', source: 'x'.repeat(1_100_000) } }),
    });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(huge.json).toMatchObject({ status: 413, type: expect.stringMatching(/payload-too-large$/) });
  });

  it('accepts a full 500-event batch near 1 MiB', async () => {
    const pad = 'p'.repeat(1800);
    const batch = Array.from({ length: 500 }, () => lead(uid(), { data: { lead_id: 'x', email: 'a@b.co', source: pad.slice(0, 190) } }));
    const body = JSON.stringify(batch);
    expect(body.length).toBeLessThanOrEqual(1024 * 1024);
    const r = await call('POST', '/v1/events', { raw: body, headers: { 'content-type': 'application/cloudevents-batch+json' } });
    expect(r.status).toBe(202);
    expect(r.json.data).toHaveLength(500);
  });
});

describe('authentication and errors', () => {
  it('answers 401 with WWW-Authenticate for a missing or wrong key, and publishes nothing', async () => {
    const before = await streamCount();
    for (const authorization of [undefined, 'Bearer sk_admin_wrongwrongwrongwrong', 'Basic abc']) {
      const res = await fetch(`${gw.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(lead(uid())),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="platform"/);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect(await streamCount()).toBe(before);
  });

  it('answers problem+json for unknown routes (404), malformed JSON (400), other media types (415) and wrong methods (405)', async () => {
    const nf = await call('GET', '/v1/nothing-here');
    expect(nf.status).toBe(404);
    expect(nf.json).toMatchObject({ status: 404, title: 'Not found' });
    const bad = await call('POST', '/v1/events', { raw: '{"id": ', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(bad.json.type).toMatch(/malformed-json$/);
    const media = await call('POST', '/v1/events', { raw: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(media.status).toBe(415);
    const method = await call('DELETE', '/v1/events');
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('POST');
  });
});

describe('route forwarding', () => {
  it('forwards a route to its service with principal, params and trace, and maps the reply', async () => {
    await rpc.answer('partner-registry', 'partners.get', (data) => {
      const params = data.params as { id: string };
      if (params.id === 'prt_01jzzzzzzzzzzzzzzzzzzzzzz0')
        return { ok: false, problem: { type: 'not-found', title: 'Not found', status: 404, detail: 'no partner' } };
      return { ok: true, status: 200, body: { id: params.id, object: 'partner' }, headers: { 'X-Served-By': 'stand-in' } };
    });
    const r = await call('GET', '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1', {
      headers: { traceparent: TRACEPARENT, 'x-request-id': 'req-e2e-1' },
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ id: 'prt_01jzzzzzzzzzzzzzzzzzzzzzz1', object: 'partner' });
    expect(r.headers.get('x-served-by')).toBe('stand-in');
    const call1 = rpc.seen.find((s) => s.pattern === 'partners.get');
    expect(call1?.data).toMatchObject({
      principal: { kind: 'admin', scopes: ['admin'] },
      params: { id: 'prt_01jzzzzzzzzzzzzzzzzzzzzzz1' },
      request_id: 'req-e2e-1',
      traceparent: expect.stringContaining(TRACE_ID),
    });
    expect(call1?.headers.traceparent).toContain(TRACE_ID);
    const missing = await call('GET', '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz0');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.json).toMatchObject({ status: 404, detail: 'no partner' });
  });

  it('validates params, query and body before forwarding (422 naming the field)', async () => {
    const seen = rpc.seen.length;
    const body = await call('POST', '/v1/partners', { body: { name: 'Acme', type: 'technology', contact_email: 'nope' } });
    expect(body.status).toBe(422);
    expect(body.json.errors).toContainEqual(expect.objectContaining({ path: 'contact_email' }));
    const query = await call('GET', '/v1/partners?limit=5000');
    expect(query.status).toBe(422);
    expect(query.json.errors).toContainEqual(expect.objectContaining({ path: 'limit' }));
    expect(rpc.seen.length).toBe(seen);
  });

  it('answers 503 when no service answers the route', async () => {
    const r = await call('POST', '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1/terminate', { body: { reason: 'test' } });
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ status: 503, type: expect.stringMatching(/unavailable$/), service: 'partner-registry' });
    expect(r.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  });
});

describe('Idempotency-Key', () => {
  const partnerBody = { name: 'Acme', type: 'technology', contact_email: 'ops@acme.test' };
  let creates = 0;

  beforeAll(async () => {
    await rpc.answer('partner-registry', 'partners.create', async (data) => {
      creates++;
      const body = data.body as { name: string };
      if (body.name === 'Slow') await new Promise((r) => setTimeout(r, 1500));
      return { ok: true, status: 201, body: { id: `prt_${creates}`, name: body.name } };
    });
  });

  it('replays the stored response for the same key and body, without a second call', async () => {
    const key = `k-${uid()}`;
    const first = await call('POST', '/v1/partners', { body: partnerBody, headers: { 'idempotency-key': key } });
    expect(first.status).toBe(201);
    const n = creates;
    const again = await call('POST', '/v1/partners', { body: partnerBody, headers: { 'idempotency-key': key } });
    expect(again.status).toBe(201);
    expect(again.json).toEqual(first.json);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(creates).toBe(n);
  });

  it('refuses the same key with a different body (422 idempotency-key-reuse)', async () => {
    const key = `k-${uid()}`;
    expect((await call('POST', '/v1/partners', { body: partnerBody, headers: { 'idempotency-key': key } })).status).toBe(201);
    const other = await call('POST', '/v1/partners', { body: { ...partnerBody, name: 'Other' }, headers: { 'idempotency-key': key } });
    expect(other.status).toBe(422);
    expect(other.json.type).toMatch(/idempotency-key-reuse$/);
  });

  it('answers 409 to a concurrent request with the same key while the first is in flight', async () => {
    const key = `k-${uid()}`;
    const body = { ...partnerBody, name: 'Slow' };
    const first = call('POST', '/v1/partners', { body, headers: { 'idempotency-key': key } });
    await new Promise((r) => setTimeout(r, 300));
    const second = await call('POST', '/v1/partners', { body, headers: { 'idempotency-key': key } });
    expect(second.status).toBe(409);
    expect((await first).status).toBe(201);
    const third = await call('POST', '/v1/partners', { body, headers: { 'idempotency-key': key } });
    expect(third.headers.get('idempotent-replayed')).toBe('true');
  });

  it('does not keep a 503, so the same key can be retried once the service is back', async () => {
    const key = `k-${uid()}`;
    const path = '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1/activate';
    const down = await call('POST', path, { body: {}, headers: { 'idempotency-key': key } });
    expect(down.status).toBe(503);
    await rpc.answer('partner-registry', 'partners.activate', () => ({
      ok: true,
      status: 200,
      body: { id: 'prt_01jzzzzzzzzzzzzzzzzzzzzzz1', status: 'active' },
    }));
    const up = await call('POST', path, { body: {}, headers: { 'idempotency-key': key } });
    expect(up.status).toBe(200);
    expect(up.headers.get('idempotent-replayed')).toBeNull();
  });

  it('applies to event publishing too', async () => {
    const key = `k-${uid()}`;
    const id = uid();
    const first = await call('POST', '/v1/events', { body: lead(id), headers: { 'idempotency-key': key } });
    const again = await call('POST', '/v1/events', { body: lead(id), headers: { 'idempotency-key': key } });
    expect(again.json).toEqual(first.json);
    expect(again.json.data[0]!.duplicate).toBe(false);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('operations endpoints', () => {
  it('serves health, readiness and Prometheus metrics', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { nats: 'ok', postgres: 'ok' } });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_http_requests_total\{[^}]*route="\/v1\/events"[^}]*status="202"/);
    expect(metrics).toMatch(/gateway_http_request_duration_seconds_bucket/);
    expect(metrics).toMatch(/gateway_events_published_total\{duplicate="false"[^}]*\} \d+/);
  });

  it('serves OpenAPI 3.1 listing the route table and the gateway’s own routes, and an HTML reference', async () => {
    const res = await fetch(`${gw.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.paths['/v1/partners']).toHaveProperty('post');
    expect(doc.paths['/v1/partners/{id}']).toHaveProperty('get');
    expect(doc.paths['/v1/events']).toHaveProperty('post');
    expect(doc.paths['/healthz']).toHaveProperty('get');
    expect(doc.components.schemas).toHaveProperty('PublishEventsBody');
    expect(Object.keys(doc.components.schemas).some((k) => k.includes('lead_created'))).toBe(true);
    const docs = await fetch(`${gw.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await docs.text()).toMatch(/<html[\s>][\s\S]*\/v1\/partners/);
  });
});

describe('shutdown', () => {
  it('finishes an in-flight batch on SIGTERM and exits cleanly', async () => {
    const batch = Array.from({ length: 300 }, () => lead(uid()));
    const pending = call('POST', '/v1/events', { body: batch });
    await new Promise((r) => setTimeout(r, 30));
    const exited = gw.proc.stop('SIGTERM');
    const r = await pending;
    expect(r.status).toBe(202);
    expect(r.json.data).toHaveLength(300);
    const code = await exited;
    expect(code, gw.proc.output().slice(-3000)).toBe(0);
  });
});
