import { createDb, dropDatabase, ensureDatabase, migrateDown, migrateToLatest } from '@pep/db';
import { createTestBus, dbUrl, type TestNames, testNames, waitUntil, type Received, startReceiver } from '@pep/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { dispatcherMigrations } from '../src/db/migrations/index.ts';
import { buildPayload, encodeCeHeaderValue } from '../src/dispatch/attempt.ts';
import { partner, publishBusiness, rpcClient, startDispatcherProcess } from './support/harness.ts';

// A real dispatcher process delivering to real loopback receivers: each payload format is read back by the
// `cloudevents` SDK's own `HTTP.toEvent` and verified by the `standardwebhooks` package.
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
let rpc: Awaited<ReturnType<typeof rpcClient>>;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
const P = 'prt_formats';

type Format = 'standard_webhooks' | 'cloudevents_structured' | 'cloudevents_binary';

async function endpointWith(format: Format | undefined, eventTypes = ['lead.*']) {
  const r = await startReceiver();
  receivers.push(r);
  const ep = (await rpc.ok('endpoints.create', partner(P), {
    body: { url: r.url, event_types: eventTypes, ...(format ? { payload_format: format } : {}) },
  })) as { id: string; secret: string; payload_format: Format };
  r.secrets.push(ep.secret);
  return { r, ep };
}

const firstDelivery = (r: Awaited<ReturnType<typeof startReceiver>>, eventId: string) =>
  waitUntil(() => r.received.find((x) => x.body.includes(eventId) || x.headers['ce-id'] === eventId), { what: `delivery of ${eventId}` });

/** What the SDK's receiving side reads from the request the receiver got. */
const toCloudEvent = (x: Received) =>
  HTTP.toEvent({ headers: x.headers as Record<string, string>, body: x.body }) as CloudEvent<Record<string, unknown>>;

beforeAll(async () => {
  names = testNames('whf');
  world = await createTestBus(names, ['webhook-dispatcher']);
  svc = await startDispatcherProcess(names);
  rpc = await rpcClient(names);
});

afterAll(async () => {
  await rpc?.close();
  await svc?.proc.stop();
  for (const r of receivers) await r.close();
  await world?.cleanup();
});

describe('webhook payload formats', () => {
  it('defaults to standard_webhooks, refuses an unknown format naming the field, and shows the format on read', async () => {
    const { ep } = await endpointWith(undefined);
    expect(ep.payload_format).toBe('standard_webhooks');
    const got = await rpc.ok('endpoints.get', partner(P), { params: { id: ep.id } });
    expect(got.payload_format).toBe('standard_webhooks');
    const bad = await rpc.call('endpoints.create', partner(P), {
      body: { url: 'http://127.0.0.1:9/x', event_types: ['lead.*'], payload_format: 'cloudevents_xml' },
    });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problem.status).toBe(422);
    expect(JSON.stringify(!bad.ok && bad.problem.errors)).toContain('payload_format');
    const reserved = await rpc.call('endpoints.create', partner(P), {
      body: { url: 'http://127.0.0.1:9/x', event_types: ['lead.*'], headers: { 'ce-id': 'x' } },
    });
    expect(!reserved.ok && reserved.problem.status).toBe(422);
  });

  it('delivers the same event in all three formats, each signed over its exact body', async () => {
    const std = await endpointWith('standard_webhooks');
    const structured = await endpointWith('cloudevents_structured');
    const binary = await endpointWith('cloudevents_binary');
    const ev = await publishBusiness(world.bus, P, 'lead.created', { lead_id: 'l_fmt', email: 'fmt@example.com', tags: ['a b', 'ü'] });

    const s = await firstDelivery(std.r, ev.id);
    expect(s.headers['content-type']).toBe('application/json');
    expect(s.verified).toBe(true);
    expect(JSON.parse(s.body)).toMatchObject({ id: ev.id, type: 'lead.created', partnerid: P, data: ev.data });
    // The SDK does not take the Standard Webhooks envelope for a CloudEvent: that is what the other formats are for.
    expect(() => toCloudEvent(s)).toThrow();

    const st = await firstDelivery(structured.r, ev.id);
    expect(st.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(st.verified).toBe(true);
    const fromStructured = toCloudEvent(st);
    expect(fromStructured.validate()).toBe(true);
    expect(fromStructured).toMatchObject({ specversion: '1.0', id: ev.id, source: ev.source, type: 'lead.created', partnerid: P });
    expect(fromStructured.data).toEqual(ev.data);

    const b = await firstDelivery(binary.r, ev.id);
    expect(b.headers['content-type']).toBe('application/json');
    expect(b.headers['ce-id']).toBe(ev.id);
    expect(b.verified).toBe(true);
    expect(JSON.parse(b.body)).toEqual(ev.data); // the body is the data alone, and that is what is signed
    const fromBinary = toCloudEvent(b);
    expect(fromBinary.validate()).toBe(true);
    expect(fromBinary).toMatchObject({ specversion: '1.0', id: ev.id, source: ev.source, type: 'lead.created', partnerid: P });
    expect(new Date(fromBinary.time as string).toISOString()).toBe(new Date(ev.time).toISOString());
    expect(fromBinary.data).toEqual(ev.data);

    // Each is one delivery, with the same id in webhook-id across its headers, verified by the package itself.
    for (const [x, secret] of [
      [s, std.ep.secret],
      [st, structured.ep.secret],
      [b, binary.ep.secret],
    ] as const) {
      expect(() => new Webhook(secret).verify(x.body, x.headers as Record<string, string>)).not.toThrow();
      expect(() => new Webhook(secret).verify(`${x.body} `, x.headers as Record<string, string>)).toThrow();
    }
  });

  it('switches an endpoint to another format by update, for the next deliveries', async () => {
    const { r, ep } = await endpointWith('standard_webhooks');
    const first = await publishBusiness(world.bus, P, 'lead.updated', { lead_id: 'l_1', changes: { stage: 'x' } });
    expect((await firstDelivery(r, first.id)).headers['content-type']).toBe('application/json');
    const updated = await rpc.ok('endpoints.update', partner(P), { params: { id: ep.id }, body: { payload_format: 'cloudevents_binary' } });
    expect(updated.payload_format).toBe('cloudevents_binary');
    await waitUntil(
      async () => (await rpc.ok('endpoints.get', partner(P), { params: { id: ep.id } })).payload_format === 'cloudevents_binary',
      {
        what: 'the update in the read model',
      },
    );
    const second = await publishBusiness(world.bus, P, 'lead.updated', { lead_id: 'l_2', changes: { stage: 'y' } });
    const got = await firstDelivery(r, second.id);
    expect(got.headers['ce-type']).toBe('lead.updated');
    expect(got.verified).toBe(true);
    expect(toCloudEvent(got).data).toEqual(second.data);
  });
});

describe('binary mode headers', () => {
  it('percent-encodes what the HTTP binding asks for and leaves plain values alone', () => {
    expect(encodeCeHeaderValue('crm.test/a-b_c~1')).toBe('crm.test/a-b_c~1');
    expect(encodeCeHeaderValue('50% "off" now')).toBe('50%25%20%22off%22%20now');
    expect(encodeCeHeaderValue('Zürich €')).toBe('Z%C3%BCrich%20%E2%82%AC');
  });

  it('maps every attribute to a ce- header (extensions included) and the data to the body', () => {
    const envelope = {
      specversion: '1.0',
      id: 'evt_1',
      source: 'crm',
      type: 'lead.created',
      time: '2026-01-01T00:00:00.000Z',
      subject: 'lead l 1',
      datacontenttype: 'application/json',
      schemaversion: 2,
      partnerid: 'prt_1',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'vendor=x',
      data: { a: 1 },
    };
    const p = buildPayload('cloudevents_binary', JSON.stringify(envelope));
    expect(p.body).toBe('{"a":1}');
    expect(p.headers).toEqual({
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'evt_1',
      'ce-source': 'crm',
      'ce-type': 'lead.created',
      'ce-time': '2026-01-01T00:00:00.000Z',
      'ce-subject': 'lead%20l%201',
      'ce-schemaversion': '2',
      'ce-partnerid': 'prt_1',
      tracestate: 'vendor=x',
    });
    expect(buildPayload('cloudevents_binary', JSON.stringify({ ...envelope, tracestate: 'a=\r\nb' })).headers.tracestate).toBeUndefined();
    const body = JSON.stringify(envelope);
    expect(buildPayload('cloudevents_structured', body)).toEqual({
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      body,
    });
    expect(buildPayload('standard_webhooks', body)).toEqual({ headers: { 'content-type': 'application/json' }, body });
  });
});

describe('payload_format migration', () => {
  const MIGRATION = '1796115700000-EndpointPayloadFormat';

  it('gives existing endpoint rows the default, refuses unknown formats, and its down drops the column', async () => {
    const url = dbUrl(names, 'webhook-formats-migration');
    await ensureDatabase(url);
    const db = createDb<{ webhook_endpoints: Record<string, unknown> }>(url, { max: 2 });
    try {
      await migrateToLatest(db, dispatcherMigrations);
      // Back to before this migration (undoing any later ones first), with an endpoint row as it was then.
      for (let i = 0; i < 10; i++) if ((await migrateDown(db, dispatcherMigrations)) === MIGRATION) break;
      const columns = async () =>
        (
          await sql<{
            column_name: string;
          }>`select column_name from information_schema.columns where table_name = 'webhook_endpoints'`.execute(db)
        ).rows.map((r) => r.column_name);
      expect(await columns()).not.toContain('payload_format');
      await db
        .insertInto('webhook_endpoints')
        .values({
          id: 'wep_old',
          partner_id: 'prt_old',
          url: 'https://h.example/in',
          description: '',
          event_types: ['lead.*'],
          enabled: true,
          disabled_reason: null,
          rate_limit_per_s: null,
          timeout_ms: 2000,
          headers: JSON.stringify({}),
          secret_sealed: 'enc:v1:x',
          previous_secret_sealed: null,
          previous_expires_at: null,
          deleted: false,
          version: 1,
          created_at: new Date(),
          updated_at: new Date(),
        })
        .execute();
      expect(await migrateToLatest(db, dispatcherMigrations)).toContain(MIGRATION);
      const row = await db.selectFrom('webhook_endpoints').select('payload_format').where('id', '=', 'wep_old').executeTakeFirstOrThrow();
      expect(row.payload_format).toBe('standard_webhooks');
      await expect(
        db.updateTable('webhook_endpoints').set({ payload_format: 'cloudevents_xml' }).where('id', '=', 'wep_old').execute(),
      ).rejects.toThrow(/check constraint/);
      for (let i = 0; i < 10; i++) if ((await migrateDown(db, dispatcherMigrations)) === MIGRATION) break;
      expect(await columns()).not.toContain('payload_format');
    } finally {
      await db.destroy();
      await dropDatabase(url);
    }
  });
});
