import { randomBytes } from 'node:crypto';
import { decodeEvent } from '@pep/events';
import { createTestBus, testNames } from '@pep/testing';
import { CloudEvent, emitterFor, HTTP, httpTransport, type Message } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from './support/gateway.ts';

// The real gateway process, fed by the official `cloudevents` SDK's own serializers and emitter.
const names = testNames('gwce');
let t: Awaited<ReturnType<typeof createTestBus>>;
let gw: Awaited<ReturnType<typeof startGateway>>;

const uid = () => `evt_${randomBytes(6).toString('hex')}`;
const leadEvent = (extra: Record<string, unknown> = {}) =>
  new CloudEvent({
    id: uid(),
    source: 'crm.test',
    type: 'lead.created',
    partnerid: 'prt_acme',
    data: { lead_id: `l_${randomBytes(3).toString('hex')}`, email: 'lead@example.com' },
    ...extra,
  });

async function post(message: { headers: Record<string, unknown>; body: unknown }, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { ...gw.auth, ...extra };
  for (const [k, v] of Object.entries(message.headers)) if (v !== undefined) headers[k] = String(v);
  const res = await fetch(`${gw.url}/v1/events`, {
    method: 'POST',
    headers,
    ...(message.body === undefined ? {} : { body: message.body as string }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

const streamCount = async () => (await t.bus.jsm.streams.info(names.STREAM_NAME)).state.messages;
const stored = async (seq: number) => {
  const msg = await t.bus.jsm.streams.getMessage(names.STREAM_NAME, { seq });
  return { msg: msg!, event: decodeEvent(msg!) };
};

beforeAll(async () => {
  t = await createTestBus(names, ['gateway']);
  gw = await startGateway(names);
});

afterAll(async () => {
  await gw?.proc.stop();
  await t?.cleanup();
});

describe('POST /v1/events in every CloudEvents content mode', () => {
  it('accepts HTTP.binary: ce-* headers, the data as the body', async () => {
    const event = leadEvent({ subject: 'lead 1' });
    const r = await post(HTTP.binary(event));
    expect(r.status).toBe(202);
    expect(r.json.data).toEqual([{ id: event.id, seq: expect.any(Number), duplicate: false }]);
    const { msg, event: got } = await stored(r.json.data[0].seq);
    expect(msg.subject).toBe(`${names.SUBJECT_PREFIX}.ext.prt_acme.lead.created`);
    expect(msg.header.get('Nats-Msg-Id')).toBe(`prt_acme:${event.id}`);
    expect(got).toMatchObject({
      specversion: '1.0',
      id: event.id,
      source: 'crm.test',
      type: 'lead.created',
      subject: 'lead 1',
      time: event.time,
      partnerid: 'prt_acme',
      datacontenttype: 'application/json',
      data: event.data,
    });
  });

  it('accepts HTTP.structured and a batch, and dedupes an id across modes', async () => {
    const event = leadEvent();
    const r = await post(HTTP.structured(event));
    expect(r.status).toBe(202);
    expect((await stored(r.json.data[0].seq)).event).toMatchObject({ id: event.id, data: event.data });
    const count = await streamCount();
    const again = await post(HTTP.binary(event));
    expect(again.status).toBe(202);
    expect(again.json.data[0]).toEqual({ id: event.id, seq: r.json.data[0].seq, duplicate: true });
    expect(await streamCount()).toBe(count);

    const batch = [leadEvent(), leadEvent(), leadEvent()];
    const b = await post({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(batch) });
    expect(b.status).toBe(202);
    expect(b.json.data.map((d: { id: string }) => d.id)).toEqual(batch.map((e) => e.id));
    expect(await streamCount()).toBe(count + 3);
  });

  it('accepts what emitterFor(httpTransport(...)) sends in its default (binary) mode', async () => {
    const sent: Message[] = [];
    const transport = httpTransport(`${gw.url}/v1/events`);
    const emit = emitterFor((message, options) => {
      sent.push(message);
      return transport(message, options);
    });
    const event = leadEvent();
    const response = (await emit(event, { headers: gw.auth })) as { body: string };
    expect(sent[0]?.headers['ce-id']).toBe(event.id); // it was binary mode
    expect(JSON.parse(response.body).data).toEqual([{ id: event.id, seq: expect.any(Number), duplicate: false }]);
    expect((await stored(JSON.parse(response.body).data[0].seq)).event).toMatchObject({
      id: event.id,
      type: 'lead.created',
      data: event.data,
    });
  });

  it('refuses a batch with one invalid event with 422 naming index and path, and publishes nothing', async () => {
    const before = await streamCount();
    const batch = [leadEvent(), leadEvent({ data: { lead_id: 'x', email: 'not-an-email' } }), leadEvent()];
    const r = await post({ headers: { 'content-type': 'application/cloudevents-batch+json' }, body: JSON.stringify(batch) });
    expect(r.status).toBe(422);
    expect(r.json.errors).toEqual([expect.objectContaining({ index: 1, path: 'data.email' })]);
    expect(await streamCount()).toBe(before);
  });

  it('answers bad CloudEvents input with a 4xx problem naming the attribute, never a 5xx, and publishes nothing', async () => {
    const before = await streamCount();
    const { headers, body } = HTTP.binary(leadEvent());
    const h = headers as Record<string, string>;
    const without = (name: string) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));
    const cases: { name: string; message: { headers: Record<string, unknown>; body: unknown }; status: number; path: string }[] = [
      { name: 'missing ce-id', message: { headers: without('ce-id'), body }, status: 422, path: 'id' },
      { name: 'missing ce-specversion', message: { headers: without('ce-specversion'), body }, status: 422, path: 'specversion' },
      { name: 'specversion 0.3', message: { headers: { ...h, 'ce-specversion': '0.3' }, body }, status: 422, path: 'specversion' },
      { name: 'bad ce-type', message: { headers: { ...h, 'ce-type': 'Lead Created' }, body }, status: 422, path: 'type' },
      {
        name: 'domain event type',
        message: { headers: { ...h, 'ce-type': 'partner.suspended' }, body: JSON.stringify({ partner_id: 'p', reason: 'x' }) },
        status: 422,
        path: 'type',
      },
      { name: 'bad ce-time', message: { headers: { ...h, 'ce-time': 'yesterday' }, body }, status: 422, path: 'time' },
      { name: 'bad ce-schemaversion', message: { headers: { ...h, 'ce-schemaversion': 'x' }, body }, status: 422, path: 'schemaversion' },
      { name: 'non-JSON data, JSON type', message: { headers: h, body: 'lead_id=1' }, status: 400, path: 'data' },
      { name: 'text data', message: { headers: { ...h, 'content-type': 'text/plain' }, body: 'hi' }, status: 415, path: 'datacontenttype' },
      { name: 'no data', message: { headers: h, body: undefined }, status: 422, path: 'data' },
      { name: 'bad encoding', message: { headers: { ...h, 'ce-source': 'crm%C3' }, body }, status: 400, path: 'source' },
    ];
    for (const c of cases) {
      const r = await post(c.message);
      expect({ case: c.name, status: r.status }).toEqual({ case: c.name, status: c.status });
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.json.errors, c.name).toEqual(expect.arrayContaining([expect.objectContaining({ path: c.path })]));
    }
    const structuredArray = await post({
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify([leadEvent()]),
    });
    expect(structuredArray.status).toBe(422);
    const malformed = await post({ headers: { 'content-type': 'application/cloudevents+json' }, body: '{"id": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.json.type).toMatch(/malformed-json$/);
    expect(await streamCount()).toBe(before);
  });

  it('applies the 1 MiB limit and Idempotency-Key to binary mode (the key covers the ce-* headers)', async () => {
    const huge = leadEvent({ data: { lead_id: 'x', email: 'a@b.co', source: 'x'.repeat(1_100_000) } });
    const big = await post(HTTP.binary(huge));
    expect(big.status).toBe(413);
    const key = `k_${randomBytes(6).toString('hex')}`;
    const event = leadEvent();
    const first = await post(HTTP.binary(event), { 'idempotency-key': key });
    expect(first.status).toBe(202);
    const replay = await post(HTTP.binary(event), { 'idempotency-key': key });
    expect(replay.status).toBe(202);
    expect(replay.json).toEqual(first.json);
    const other = await post(HTTP.binary(event.cloneWith({ id: uid() })), { 'idempotency-key': key });
    expect(other.status).toBe(422);
    expect(other.json.type).toMatch(/idempotency-key-reuse$/);
  });
});
