import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Application, DELIVERY_LATENCY_BUCKETS_MS, type Integration, type IntegrationError, type Partner } from '@pep/contracts';
import { aggregateSubject, publishEvent } from '@pep/events';
import { newId } from '@pep/runtime';
import { readAll, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketPercentile } from '../src/projections/integration-traffic/queries.ts';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';
import { envelope } from './support/stream.ts';
import {
  partner as dispatcherPartner,
  publishBusiness,
  rpcClient,
  startDispatcherProcess,
} from '../../webhook-dispatcher/test/support/harness.ts';
import { startReceiver } from '@pep/testing';

// Integration metrics, errors and health from traffic: the dispatcher's rollups, the gateway's API usage and the
// dispatcher's integration errors are appended to a real stream (as those services do); the registry folds them.
const names = testNames('itr');
let reg: Registry;
let health: Server;
let owner: Partner;
let other: Partner;
let app: Application;

const CLASSES = ['success', 'timeout', 'tls', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'mapping'] as const;
type Cls = (typeof CLASSES)[number];
const HOUR = 3_600_000;
const hourOf = (ms: number) => ms - (ms % HOUR);

function rollup(o: {
  endpoint: string;
  partner: string;
  integration?: string;
  minute: number;
  reporter?: string;
  classes: Partial<Record<Cls, number>>;
  latency: number[];
}) {
  const by_class = Object.fromEntries(CLASSES.map((c) => [c, o.classes[c] ?? 0]));
  const attempts = CLASSES.reduce((a, c) => a + (o.classes[c] ?? 0), 0);
  const reporter = o.reporter ?? 'r1';
  const minute = new Date(o.minute).toISOString();
  const id = `whru_${o.endpoint}_${minute.slice(0, 16).replace(/[-T:]/g, '')}_${reporter}`;
  return envelope(
    'webhook.deliveries.rolled_up',
    {
      endpoint_id: o.endpoint,
      partner_id: o.partner,
      ...(o.integration ? { integration_id: o.integration } : {}),
      minute,
      reporter,
      attempts,
      succeeded: o.classes.success ?? 0,
      exhausted: 0,
      by_class,
      by_event_type: { 'lead.created': { attempts, succeeded: o.classes.success ?? 0, exhausted: 0 } },
      latency_ms_buckets: o.latency,
      latency_ms_sum: o.latency.reduce((a, n, i) => a + n * (DELIVERY_LATENCY_BUCKETS_MS[i] ?? 10_000), 0),
    },
    o.partner,
    id,
  );
}

const append = (aggregate: string, id: string, ev: ReturnType<typeof envelope>) =>
  publishEvent(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, aggregate, id), ev);
const caughtUp = async () => {
  for (const p of reg.projections.values()) await p.waitFor(undefined, 20_000);
};

beforeAll(async () => {
  health = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  reg = await startRegistry(names, {
    SSRF_ALLOW: '127.0.0.1/32',
    ALLOW_HTTP_URLS: 'true',
    INTEGRATION_TRAFFIC_WINDOW_MS: '600000',
    INTEGRATION_TRAFFIC_MIN_ATTEMPTS: '5',
  });
  const mk = async (name: string) => {
    const p = await reg.ok<Partner>('partners.create', admin, { body: { name, type: 'technology', contact_email: 'o@p.test' } });
    return reg.ok<Partner>('partners.activate', admin, { params: { id: p.id } });
  };
  owner = await mk('Owner');
  other = await mk('Other');
  const me = partnerPrincipal(owner.id);
  const draft = await reg.ok<Application>('applications.create', me, {
    body: {
      name: 'Traffic app',
      description: 'has a health URL',
      health_url: `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`,
      privacy_url: 'https://owner.test/privacy',
      terms_url: 'https://owner.test/terms',
    },
  });
  await reg.ok('applications.submit', me, { params: { id: draft.id } });
  await reg.ok('applications.start-review', admin, { params: { id: draft.id } });
  await reg.ok('applications.approve', admin, { params: { id: draft.id } });
  app = await reg.ok<Application>('applications.publish', me, { params: { id: draft.id } });
});
afterAll(async () => {
  await reg?.stop();
  await new Promise((r) => health?.close(r));
});

const install = () =>
  reg.ok<Integration>('integrations.install', partnerPrincipal(owner.id), {
    body: { application_id: app.id, customer_id: `cus_${newId('c')}` },
  });

describe('integration metrics from real traffic', () => {
  it('hourly calls, success rate, bucket-interpolated percentiles and error classes equal a fold of the rollups', async () => {
    const integ = await install();
    const client = newId('cli');
    await append(
      'oauth_client',
      client,
      envelope(
        'oauth_client.created',
        {
          client_id: client,
          application_id: app.id,
          partner_id: owner.id,
          type: 'confidential',
          redirect_uris: [],
          scopes: [],
          secret_hash: null,
          created_by: 'key_1',
        },
        owner.id,
      ),
    );
    const ep = newId('whe');
    const h0 = hourOf(Date.now()) - 2 * HOUR;
    const traffic = [
      rollup({
        endpoint: ep,
        partner: owner.id,
        integration: integ.id,
        minute: h0 + 60_000,
        classes: { success: 8, http_5xx: 2 },
        latency: [4, 3, 2, 1, 0, 0, 0, 0, 0, 0],
      }),
      rollup({
        endpoint: ep,
        partner: owner.id,
        integration: integ.id,
        minute: h0 + 60_000,
        reporter: 'r2',
        classes: { success: 5, tls: 1, mapping: 1 },
        latency: [0, 0, 5, 0, 1, 0, 0, 0, 0, 0],
      }),
      rollup({
        endpoint: ep,
        partner: owner.id,
        integration: integ.id,
        minute: h0 + HOUR + 120_000,
        classes: { timeout: 3, rate_limited: 1 },
        latency: [0, 0, 0, 0, 0, 0, 1, 0, 0, 3],
      }),
      // Not the integration's: an endpoint without an integration, and another integration.
      rollup({
        endpoint: newId('whe'),
        partner: owner.id,
        minute: h0 + 60_000,
        classes: { success: 50 },
        latency: [50, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      }),
    ];
    for (const ev of traffic) await append('webhook_traffic', ep, ev);
    // A repeat of a rollup (same id) is stored once by the stream.
    await append('webhook_traffic', ep, traffic[0] ?? envelope('x', {}));
    await append(
      'api_usage',
      owner.id,
      envelope(
        'api_usage.rolled_up',
        {
          partner_id: owner.id,
          minute: new Date(h0 + 300_000).toISOString(),
          reporter: 'gw1',
          requests: 30,
          by_credential: { [client]: { requests: 20, errors: 4 }, key_unrelated: { requests: 10, errors: 0 } },
        },
        owner.id,
        `apiu_${owner.id}_x_gw1`,
      ),
    );
    await caughtUp();
    const me = partnerPrincipal(owner.id);
    const m = await reg.ok<{ data: Record<string, unknown>[] }>('integrations.metrics', me, {
      params: { id: integ.id },
      query: { from: new Date(h0).toISOString(), to: new Date(h0 + 3 * HOUR).toISOString() },
    });
    const buckets0 = [4, 3, 7, 1, 1, 0, 0, 0, 0, 0];
    expect(m.data).toEqual([
      {
        hour: new Date(h0).toISOString(),
        calls: 17 + 20,
        webhook_attempts: 17,
        api_requests: 20,
        succeeded: 13 + 16,
        success_rate: 29 / 37,
        latency_ms: { p50: bucketPercentile(buckets0, 0.5), p95: bucketPercentile(buckets0, 0.95), p99: bucketPercentile(buckets0, 0.99) },
        errors: { http_5xx: 2, tls: 1, mapping: 1, api_error: 4 },
      },
      {
        hour: new Date(h0 + HOUR).toISOString(),
        calls: 4,
        webhook_attempts: 4,
        api_requests: 0,
        succeeded: 0,
        success_rate: 0,
        latency_ms: { p50: 10_000, p95: 10_000, p99: 10_000 },
        errors: { timeout: 3, rate_limited: 1 },
      },
    ]);
    // 16 observations: the median (rank 8) is in the third bucket (50-100 ms, ranks 8..14): 50 + 50 * 1/7.
    expect(bucketPercentile(buckets0, 0.5)).toBe(Math.round(50 + (50 * 1) / 7));
    expect(statusOf(await reg.call('integrations.metrics', partnerPrincipal(other.id), { params: { id: integ.id } }))).toBe(404);
    expect(statusOf(await reg.call('integrations.metrics', me, { params: { id: integ.id }, query: { from: 'yesterday' } }))).toBe(422);
  });

  it('lists errors with their context, newest first, filtered by class, event type and time, paginated without gaps', async () => {
    const integ = await install();
    const ep = newId('whe');
    const t0 = Date.now() - 30 * 60_000;
    const classes = ['timeout', 'http_5xx', 'tls', 'http_4xx'] as const;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const delivery = newId('dlv');
      const id = `intf_${delivery}_${(i % 3) + 1}`;
      ids.push(id);
      await append(
        'webhook_delivery',
        delivery,
        envelope(
          'integration.delivery_failed',
          {
            integration_id: integ.id,
            endpoint_id: ep,
            delivery_id: delivery,
            event_id: `evt_${i}`,
            event_type: i % 2 ? 'lead.created' : 'deal.won',
            attempt: (i % 3) + 1,
            status_code: classes[i % 4]?.startsWith('http') ? 500 : null,
            error_class: classes[i % 4],
            error: 'HTTP 500',
            excerpt: `{"error":"nope ${i}"}`,
            latency_ms: 12,
            failed_at: new Date(t0 + i * 60_000).toISOString(),
          },
          owner.id,
          id,
        ),
      );
    }
    const mf = `mapf_${newId('dlv')}_1`;
    await append(
      'webhook_delivery',
      'x',
      envelope(
        'integration.mapping_failed',
        {
          integration_id: integ.id,
          endpoint_id: ep,
          delivery_id: 'dlv_m',
          event_id: 'evt_m',
          event_type: 'lead.created',
          mapping_event_type: '*',
          mapping_version: 3,
          error_class: 'depth',
          error_code: 'U1001',
          error_message: 'stack overflow',
          position: null,
          failed_at: new Date(t0 + 20 * 60_000).toISOString(),
        },
        owner.id,
        mf,
      ),
    );
    await caughtUp();
    const me = partnerPrincipal(owner.id);
    const list = (query: Record<string, unknown>) =>
      reg.ok<{ data: IntegrationError[]; has_more: boolean }>('integrations.errors', me, { params: { id: integ.id }, query });

    const all = await list({ limit: 100 });
    expect(all.data.map((e) => e.id)).toEqual([mf, ...[...ids].reverse()]);
    expect(all.data[0]).toMatchObject({
      class: 'mapping',
      mapping_version: 3,
      attempt: 1,
      event_id: 'evt_m',
      message: 'depth U1001: stack overflow',
    });
    expect(all.data[1]).toMatchObject({
      class: 'http_4xx',
      event_id: 'evt_11',
      attempt: 3,
      status_code: 500,
      excerpt: '{"error":"nope 11"}',
    });

    const pages: string[] = [];
    let after: string | undefined;
    for (let n = 0; n < 10; n++) {
      const p = await list({ limit: 5, ...(after ? { starting_after: after } : {}) });
      pages.push(...p.data.map((e) => e.id));
      if (!p.has_more) break;
      after = p.data.at(-1)?.id;
    }
    expect(pages).toEqual(all.data.map((e) => e.id));

    expect((await list({ class: 'tls' })).data.map((e) => e.event_id)).toEqual(['evt_10', 'evt_6', 'evt_2']);
    expect((await list({ event_type: 'deal.won', class: 'timeout' })).data.map((e) => e.event_id)).toEqual(['evt_8', 'evt_4', 'evt_0']);
    const windowed = await list({ from: new Date(t0 + 3 * 60_000).toISOString(), to: new Date(t0 + 6 * 60_000).toISOString() });
    expect(windowed.data.map((e) => e.event_id)).toEqual(['evt_5', 'evt_4', 'evt_3']);
    expect(statusOf(await reg.call('integrations.errors', me, { params: { id: integ.id }, query: { class: 'boom' } }))).toBe(422);
    expect(statusOf(await reg.call('integrations.errors', partnerPrincipal(other.id), { params: { id: integ.id } }))).toBe(404);
  });

  it('health: endpoints failing every delivery make it down although the health URL answers; it flips back; each change emits once', async () => {
    const integ = await install();
    const ep = newId('whe');
    const me = partnerPrincipal(owner.id);
    const check = () => reg.ok<Integration>('integrations.check', me, { params: { id: integ.id } });
    expect((await check()).health.status).toBe('up');
    const now = Date.now();
    await append(
      'webhook_traffic',
      ep,
      rollup({
        endpoint: ep,
        partner: owner.id,
        integration: integ.id,
        minute: now - (now % 60_000) - 60_000,
        classes: { http_5xx: 6 },
        latency: [6, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      }),
    );
    await caughtUp();
    const down = await check();
    expect(down.health.status).toBe('down');
    expect(down.recent_errors[0]?.message).toMatch(/every webhook delivery failed in the last 10 min \(6 attempts\)/);
    await check(); // still down: no second integration.failed
    await append(
      'webhook_traffic',
      ep,
      rollup({
        endpoint: ep,
        partner: owner.id,
        integration: integ.id,
        minute: now - (now % 60_000),
        classes: { success: 1 },
        latency: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      }),
    );
    await caughtUp();
    expect((await check()).health.status).toBe('up');
    await check();
    const events = await readAll(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, 'integration', integ.id));
    const failed = events.filter((e) => e.type === 'integration.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.data).toMatchObject({ error_code: 'deliveries_failing', integration_id: integ.id });
    // The install, then one recovery.
    expect(events.filter((e) => e.type === 'integration.connected')).toHaveLength(2);
    expect(events.map((e) => e.type).filter((t) => t !== 'integration.health_checked')).toEqual([
      'integration.connected',
      'integration.failed',
      'integration.connected',
    ]);
    await waitUntil(async () => (await reg.ok<Integration>('integrations.get', me, { params: { id: integ.id } })).health.status === 'up');
  });

  it('previews a mapping on a stored event of the partner (read from the dispatcher), 404 for an unknown or foreign one', async () => {
    const integ = await install();
    const dispatcher = await startDispatcherProcess(names);
    const rpc = await rpcClient(names);
    const receiver = await startReceiver();
    try {
      await rpc.ok('endpoints.create', dispatcherPartner(owner.id), { body: { url: receiver.url, event_types: ['lead.*'] } });
      const ev = await publishBusiness(reg.bus, owner.id, 'lead.created', { email: 'ada@example.com', first_name: 'Ada' });
      await waitUntil(() => receiver.received.find((r) => r.body.includes(ev.id)), { what: 'the delivery' });
      const me = partnerPrincipal(owner.id);
      // The dispatcher stores the event with the delivery's record, a moment after the request went out.
      const preview = await waitUntil(
        async () => {
          const r = await reg.call('integrations.mappings.preview', me, {
            params: { id: integ.id },
            body: { event_id: ev.id, expression: '{ "who": first_name, "id": $event.id }' },
          });
          return r.ok ? (r.body as { ok: boolean; payload: unknown; event_type: string }) : undefined;
        },
        { what: 'the preview of the stored event' },
      );
      expect(preview).toMatchObject({ ok: true, event_type: 'lead.created', payload: { who: 'Ada', id: ev.id } });
      const unknown = await reg.call('integrations.mappings.preview', me, { params: { id: integ.id }, body: { event_id: 'evt_nope' } });
      expect(statusOf(unknown)).toBe(404);
      // The dispatcher answers for the caller's own partner only.
      expect(statusOf(await rpc.call('events.get', dispatcherPartner(other.id), { params: { id: ev.id } }))).toBe(404);
      const both = await reg.call('integrations.mappings.preview', me, {
        params: { id: integ.id },
        body: { event_id: ev.id, event: { type: 'lead.created', data: {} } },
      });
      expect(statusOf(both)).toBe(422);
    } finally {
      await rpc.close();
      await receiver.close();
      await dispatcher.proc.stop();
    }
  }, 120_000);
});
