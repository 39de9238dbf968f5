import type { PlatformEvent } from '@pep/contracts';
import { aggregateSubject, publishEvent } from '@pep/events';
import { newId } from '@pep/runtime';
import { createTestBus, type TestNames, testNames, waitUntil, startReceiver } from '@pep/testing';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partner, publishBusiness, rpcClient, startDispatcherProcess } from './support/harness.ts';

// A real dispatcher process learns integrations' mappings from the stream (as the registry appends them) and
// delivers mapped, signed bodies to real loopback receivers; a pathological mapping is stopped and reported
// while the other endpoints keep receiving.
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
let rpc: Awaited<ReturnType<typeof rpcClient>>;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
const P = newId('prt');
const OTHER = newId('prt');

/** Appends an integration event to the integration's subject, as partner-registry does. */
async function integrationEvent(partnerId: string, integrationId: string, type: string, data: Record<string, unknown>) {
  const ev: PlatformEvent = {
    specversion: '1.0',
    id: newId('evt'),
    source: 'urn:pep:partner-registry',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    partnerid: partnerId,
    data: { integration_id: integrationId, ...data },
  };
  await publishEvent(world.bus, aggregateSubject(world.bus.prefix, 'integration', integrationId), ev);
}

async function connectedIntegration(partnerId: string) {
  const id = newId('int');
  await integrationEvent(partnerId, id, 'integration.connected', {
    application_id: newId('app'),
    customer_id: 'cus_1',
    scopes: [],
    connected_by: 'key_1',
    connected_at: new Date().toISOString(),
  });
  return id;
}

const setMapping = (partnerId: string, integrationId: string, eventType: string, version: number, expression: string) =>
  integrationEvent(partnerId, integrationId, 'integration.mapping_set', {
    event_type: eventType,
    version,
    expression,
    set_by: 'key_1',
    set_at: new Date().toISOString(),
  });

/** Creates an endpoint, waiting until the dispatcher's read model knows the integration it names. */
async function endpointFor(integrationId: string | null) {
  const r = await startReceiver();
  receivers.push(r);
  const body = { url: r.url, event_types: ['lead.*'], ...(integrationId ? { integration_id: integrationId } : {}) };
  const ep = await waitUntil(
    async () => {
      const res = await rpc.call('endpoints.create', partner(P), { body });
      return res.ok ? (res.body as { id: string; secret: string; integration_id: string | null }) : undefined;
    },
    { what: `an endpoint of integration ${integrationId}` },
  );
  r.secrets.push(ep.secret);
  return { r, ep };
}

const MAPPING = '{ "contact": { "email": email, "name": first_name & " " & last_name }, "source": $event.type, "tags": $count(tags) }';

beforeAll(async () => {
  names = testNames('whm');
  world = await createTestBus(names, ['webhook-dispatcher']);
  svc = await startDispatcherProcess(names, { WEBHOOK_MAPPING_REFRESH_MS: '50' });
  rpc = await rpcClient(names);
});

afterAll(async () => {
  await rpc?.close();
  await svc?.proc.stop();
  for (const r of receivers) await r.close();
  await world?.cleanup();
});

describe('mapped deliveries', () => {
  it('an endpoint may name only a connected integration of its own partner (422 naming integration_id)', async () => {
    const theirs = await connectedIntegration(OTHER);
    const mine = await connectedIntegration(P);
    await endpointFor(mine); // accepted once known (and so is theirs, appended before it, to the same read model)
    const res = await rpc.call('endpoints.create', partner(P), {
      body: { url: 'http://127.0.0.1:9/x', event_types: ['lead.*'], integration_id: theirs },
    });
    expect(res.ok).toBe(false);
    expect(!res.ok && res.problem.status).toBe(422);
    expect(JSON.stringify(!res.ok && res.problem.errors)).toContain('integration_id');
  });

  it('signs the mapped payload; the envelope travels in headers; the attempt records the mapping version; a bad mapping delivers nothing to its endpoint only', async () => {
    const good = await connectedIntegration(P);
    const bad = await connectedIntegration(P);
    // A non-terminating recursion: stopped by the depth/time bounds. Appended first: once the dispatcher
    // applies good's v2 (probed below), it has this one too (one read model, folded in stream order).
    await setMapping(P, bad, '*', 1, '($f := function($x){ $f($x + 1) }; $f(0))');
    await setMapping(P, good, 'lead.*', 1, '{ "v": 1 }');
    await setMapping(P, good, 'lead.*', 2, MAPPING);
    const mapped = await endpointFor(good);
    const broken = await endpointFor(bad);
    const plain = await endpointFor(null);
    expect(mapped.ep.integration_id).toBe(good);

    // The mapping reaches the dispatcher from the stream: probe until a delivery carries version 2's shape.
    await waitUntil(
      async () => {
        const probe = await publishBusiness(world.bus, P, 'lead.updated', {
          email: 'p@example.com',
          first_name: 'P',
          last_name: 'Q',
          tags: [],
        });
        return waitUntil(() => mapped.r.received.find((x) => x.headers['x-event-id'] === probe.id && x.body.includes('"contact"')), {
          timeoutMs: 1000,
          what: 'a mapped probe',
        });
      },
      { what: 'mapping v2 in effect' },
    );

    const ev = await publishBusiness(world.bus, P, 'lead.created', {
      lead_id: 'l_1',
      email: 'ada@example.com',
      first_name: 'Ada',
      last_name: 'Lovelace',
      tags: ['a', 'b', 'c'],
    });
    const got = await waitUntil(() => mapped.r.received.find((x) => x.headers['x-event-id'] === ev.id), { what: 'the mapped delivery' });
    expect(JSON.parse(got.body)).toEqual({ contact: { email: 'ada@example.com', name: 'Ada Lovelace' }, source: 'lead.created', tags: 3 });
    expect(got.headers['x-event-type']).toBe('lead.created');
    expect(new Date(String(got.headers['x-event-time'])).toISOString()).toBe(new Date(ev.time).toISOString());
    expect(got.headers['webhook-id']).toMatch(/^msg_/);
    // Verified by the standardwebhooks package itself over the mapped bytes, and not over anything else.
    expect(() => new Webhook(mapped.ep.secret).verify(got.body, got.headers as Record<string, string>)).not.toThrow();
    expect(() => new Webhook(mapped.ep.secret).verify(JSON.stringify(ev), got.headers as Record<string, string>)).toThrow();

    // The unmapped endpoint got the envelope as always.
    const p = await waitUntil(() => plain.r.received.find((x) => x.body.includes(ev.id)), { what: 'the unmapped delivery' });
    expect(JSON.parse(p.body)).toMatchObject({ id: ev.id, type: 'lead.created', data: ev.data });
    expect(p.headers['x-event-id']).toBeUndefined();

    // The delivery records the mapping version it used.
    const d = await waitUntil(
      async () => {
        const list = await rpc.ok<{ data: { id: string; event_id: string; status: string }[] }>('deliveries.list', partner(P), {
          params: { id: mapped.ep.id },
        });
        return list.data.find((x) => x.event_id === ev.id && x.status !== 'pending');
      },
      { what: 'the mapped delivery recorded' },
    );
    expect(d.status).toBe('succeeded');
    const attempts = await rpc.ok<{ data: { mapping_version: number | null; outcome: string }[] }>('deliveries.attempts', partner(P), {
      params: { id: d.id },
    });
    expect(attempts.data).toEqual([expect.objectContaining({ outcome: 'succeeded', mapping_version: 2 })]);

    // The pathological mapping: nothing reached its endpoint, the delivery failed once and for all, and an
    // integration error is on the stream with its context.
    const failed = await waitUntil(
      async () => {
        const list = await rpc.ok<{ data: { id: string; event_id: string; status: string; attempts: number }[] }>(
          'deliveries.list',
          partner(P),
          {
            params: { id: broken.ep.id },
          },
        );
        const x = list.data.find((y) => y.event_id === ev.id);
        return x?.status === 'failed' ? x : undefined;
      },
      { what: 'the failed mapped delivery' },
    );
    expect(failed.attempts).toBe(1);
    expect(broken.r.received.filter((x) => x.body.includes(ev.id) || x.headers['x-event-id'] === ev.id)).toEqual([]);
    const brokenAttempts = await rpc.ok<{ data: { error_class: string; mapping_version: number | null; status_code: number | null }[] }>(
      'deliveries.attempts',
      partner(P),
      { params: { id: failed.id } },
    );
    expect(brokenAttempts.data).toEqual([expect.objectContaining({ error_class: 'mapping_error', mapping_version: 1, status_code: null })]);
    const subject = aggregateSubject(world.bus.prefix, 'webhook_delivery', failed.id);
    const reported = await waitUntil(
      async () => {
        // The delivery's subject holds the integration error (from the event outbox) and the exhausted event (from
        // the delivery outbox), in either order: walk it (a direct get takes next_by_subj).
        let seq = 1;
        for (let i = 0; i < 5; i++) {
          const m = await world.bus.jsm.direct.getMessage(world.bus.stream, { seq, next_by_subj: subject });
          if (!m) return undefined;
          const e = m.json<PlatformEvent>();
          if (e.type === 'integration.mapping_failed') return e;
          seq = m.seq + 1;
        }
        return undefined;
      },
      { what: 'integration.mapping_failed on the stream' },
    );
    expect(reported.data).toMatchObject({
      integration_id: bad,
      endpoint_id: broken.ep.id,
      delivery_id: failed.id,
      event_id: ev.id,
      mapping_event_type: '*',
      mapping_version: 1,
      error_class: expect.stringMatching(/^(depth|timeout)$/),
    });

    // And the dispatcher is alive and delivering afterwards.
    const after = await publishBusiness(world.bus, P, 'lead.qualified', {
      email: 'z@example.com',
      first_name: 'Z',
      last_name: 'Y',
      tags: [],
    });
    await waitUntil(() => plain.r.received.find((x) => x.body.includes(after.id)), { what: 'a later unmapped delivery' });
    await waitUntil(() => mapped.r.received.find((x) => x.headers['x-event-id'] === after.id), { what: 'a later mapped delivery' });

    // Traffic per integration and hour, from the attempts themselves.
    type Traffic = {
      data: {
        calls: number;
        succeeded: number;
        success_rate: number;
        latency_ms: { p50: number | null; p99: number | null };
        errors: Record<string, number>;
      }[];
    };
    const sum = (t: Traffic, f: (h: Traffic['data'][number]) => number) => t.data.reduce((n, h) => n + f(h), 0);
    const goodTraffic = await waitUntil(
      async () => {
        const t = await rpc.ok<Traffic>('integrations.traffic', partner(P), { params: { id: good } });
        return sum(t, (h) => h.succeeded) >= 3 ? t : undefined; // a probe, ev and after at least
      },
      { what: "the good integration's traffic" },
    );
    expect(sum(goodTraffic, (h) => h.calls)).toBe(sum(goodTraffic, (h) => h.succeeded));
    expect(goodTraffic.data.every((h) => h.success_rate === 1 && h.latency_ms.p50 !== null && Object.keys(h.errors).length === 0)).toBe(
      true,
    );
    const badTraffic = await waitUntil(
      async () => {
        const t = await rpc.ok<Traffic>('integrations.traffic', partner(P), { params: { id: bad } });
        return sum(t, (h) => h.errors.mapping_error ?? 0) >= 2 ? t : undefined; // ev and after at least
      },
      { what: "the bad integration's traffic" },
    );
    // Probes sent before the mapping reached the dispatcher went out unmapped (and succeeded); nothing else.
    expect(sum(badTraffic, (h) => h.calls)).toBe(sum(badTraffic, (h) => h.succeeded + (h.errors.mapping_error ?? 0)));
    expect(badTraffic.data.every((h) => h.success_rate < 1)).toBe(true);
    const foreign = await rpc.call('integrations.traffic', partner(OTHER), { params: { id: good } });
    expect(!foreign.ok && foreign.problem.status).toBe(404);
  });
});
