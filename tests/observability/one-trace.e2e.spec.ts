import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createTestBus,
  freePort,
  type ReceivedSpan,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  startOtlpReceiver,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// One trace per event across real processes: the gateway, the partner registry and the webhook dispatcher
// export their spans over OTLP/HTTP to a receiver on loopback, as they would to a collector or Jaeger.
const names = testNames('otel');
const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
const SERVICES = ['gateway', 'partner-registry', 'webhook-dispatcher', 'billing'];
let world: Awaited<ReturnType<typeof createTestBus>>;
let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
const procs: ServiceProcess[] = [];
let base = '';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** The partner's own span: the parent of the gateway's, never exported here. */
const partnerSpan = () => ({ traceId: hex(16), spanId: hex(8) });

beforeAll(async () => {
  world = await createTestBus(names, SERVICES);
  otlp = await startOtlpReceiver();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' };
  const registryPort = await freePort();
  const dispatcherPort = await freePort();
  const gatewayPort = await freePort();
  const billingPort = await freePort();
  const registry = spawnService('partner-registry', serviceEnv(names, { ...otel, HEALTH_PORT: String(registryPort) }));
  const dispatcher = spawnService(
    'webhook-dispatcher',
    serviceEnv(names, {
      ...otel,
      HEALTH_PORT: String(dispatcherPort),
      WEBHOOK_SECRET_KEY: hex(32),
      WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8,::1',
      WEBHOOK_POLL_MS: '50',
    }),
  );
  const gateway = spawnService(
    'gateway',
    serviceEnv(names, { ...otel, GATEWAY_PORT: String(gatewayPort), PLATFORM_ADMIN_API_KEY: adminKey }),
  );
  // Billing meters every partner event (its usage projection): its consumer span joins the event's trace too.
  const billing = spawnService('billing', serviceEnv(names, { ...otel, HEALTH_PORT: String(billingPort), INVOICE_JOB_INTERVAL_MS: '0' }));
  procs.push(registry, dispatcher, gateway, billing);
  base = `http://127.0.0.1:${gatewayPort}`;
  // Started together and awaited together (bounded below the hook's 180 s): four services starting at once on
  // a loaded 2-core machine can each take over a minute.
  await Promise.all([
    waitReady(`http://127.0.0.1:${registryPort}/readyz`, registry, 150_000),
    waitReady(`http://127.0.0.1:${dispatcherPort}/readyz`, dispatcher, 150_000),
    waitReady(`http://127.0.0.1:${billingPort}/readyz`, billing, 150_000),
    waitReady(`${base}/readyz`, gateway, 150_000),
  ]);
});

afterAll(async () => {
  for (const p of procs) await p.stop();
  await otlp?.close();
  await world?.cleanup();
});

/** Every span's parent is in the trace, except the gateway's root span, whose parent is the partner's span. */
function expectLinked(spans: ReceivedSpan[], partner: { spanId: string }) {
  const ids = new Set(spans.map((s) => s.spanId));
  const orphans = spans.filter((s) => !ids.has(s.parentSpanId));
  expect(orphans.map((s) => `${s.service}:${s.name}`)).toHaveLength(1);
  expect(orphans[0]).toMatchObject({ service: 'gateway', parentSpanId: partner.spanId, kind: 2 /* SERVER */ });
}

const summary = (spans: ReceivedSpan[]) => spans.map((s) => `${s.service}:${s.name}`).sort();

describe('one trace per event', () => {
  it('follows a request-reply command: gateway → registry RPC → command → append → projection apply', async () => {
    const partner = partnerSpan();
    const res = await fetch(`${base}/v1/partners`, {
      method: 'POST',
      headers: { ...auth, traceparent: `00-${partner.traceId}-${partner.spanId}-01` },
      body: JSON.stringify({ name: 'Traced Partner', type: 'technology', contact_email: 'ops@trace.test' }),
    });
    expect(res.status).toBe(201);
    const spans = await waitUntil(
      () => {
        const t = otlp.trace(partner.traceId);
        const applied = t.some((s) => s.service === 'partner-registry' && s.kind === 5 && s.name === 'process partner.created');
        return applied && t.some((s) => s.service === 'gateway' && s.kind === 2) ? t : undefined;
      },
      { timeoutMs: 30_000, what: 'the command trace' },
    ).catch((err) => {
      throw new Error(`${(err as Error).message}; spans received: ${JSON.stringify(otlp.spans.slice(0, 40))}; refused: ${otlp.refused()}`);
    });
    console.log(`request-reply trace: ${spans.length} spans\n  ${summary(spans).join('\n  ')}`);
    expectLinked(spans, partner);
    const byName = (service: string, kind: number) => spans.filter((s) => s.service === service && s.kind === kind);
    const server = byName('gateway', 2)[0] as ReceivedSpan;
    const client = byName('gateway', 3)[0] as ReceivedSpan; // CLIENT: the NATS request
    const rpc = byName('partner-registry', 2)[0] as ReceivedSpan; // SERVER: the request handled
    const command = byName('partner-registry', 1)[0] as ReceivedSpan; // INTERNAL: decide + append
    const append = byName('partner-registry', 4)[0] as ReceivedSpan; // PRODUCER
    expect(client.parentSpanId).toBe(server.spanId);
    expect(rpc.parentSpanId).toBe(client.spanId);
    expect(command.parentSpanId).toBe(rpc.spanId);
    expect(append.parentSpanId).toBe(command.spanId);
    const applies = byName('partner-registry', 5);
    expect(applies.length).toBeGreaterThan(0);
    for (const a of applies) expect(a.parentSpanId).toBe(append.spanId);
  });

  it("follows a partner's event from its request to the webhook receiver's traceparent", async () => {
    const got: { traceparent: string }[] = [];
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        got.push({ traceparent: String(req.headers.traceparent ?? '') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const partnerId = `prt_01${'z'.repeat(22)}tr`;
      const ep = await fetch(`${base}/v1/webhook-endpoints`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
          event_types: ['lead.*'],
          partner_id: partnerId,
        }),
      });
      expect(ep.status).toBe(201);

      const partner = partnerSpan();
      const id = hex(6);
      const published = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { ...auth, traceparent: `00-${partner.traceId}-${partner.spanId}-01` },
        body: JSON.stringify({
          specversion: '1.0',
          id,
          source: 'crm.trace',
          type: 'lead.created',
          partnerid: partnerId,
          data: { lead_id: `l_${id}`, email: `${id}@example.com` },
        }),
      });
      expect(published.status).toBe(202);
      await waitUntil(() => got.length >= 1 || undefined, { timeoutMs: 30_000, what: 'the webhook' });
      const delivered = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(got[0]?.traceparent ?? '');
      expect(delivered?.[1], got[0]?.traceparent).toBe(partner.traceId);

      const spans = await waitUntil(
        () => {
          const t = otlp.trace(partner.traceId);
          const metered = t.some((s) => s.service === 'billing' && s.kind === 5 && s.name === 'process lead.created');
          return metered && t.some((s) => s.spanId === delivered?.[2]) && t.some((s) => s.service === 'gateway' && s.kind === 2)
            ? t
            : undefined;
        },
        { timeoutMs: 30_000, what: 'the event trace' },
      );
      console.log(`event trace: ${spans.length} spans\n  ${summary(spans).join('\n  ')}`);
      expectLinked(spans, partner);
      const bySpan = new Map(spans.map((s) => [s.spanId, s]));
      // From the receiver back to the partner: attempt ← intake ← publish ← HTTP request.
      const attempt = bySpan.get(delivered?.[2] as string) as ReceivedSpan;
      expect(attempt).toMatchObject({ service: 'webhook-dispatcher', name: 'webhook.attempt', kind: 3 });
      const intake = bySpan.get(attempt.parentSpanId) as ReceivedSpan;
      expect(intake).toMatchObject({ service: 'webhook-dispatcher', name: 'process lead.created', kind: 5 });
      const publish = bySpan.get(intake.parentSpanId) as ReceivedSpan;
      expect(publish).toMatchObject({ service: 'gateway', name: 'publish lead.created', kind: 4 });
      const request = bySpan.get(publish.parentSpanId) as ReceivedSpan;
      expect(request).toMatchObject({ service: 'gateway', name: 'POST /v1/events', kind: 2, parentSpanId: partner.spanId });
      // The same publish is the parent of billing's metering of the event (its usage projection's apply).
      const metering = spans.filter((s) => s.service === 'billing' && s.name === 'process lead.created');
      expect(metering.length).toBeGreaterThan(0);
      for (const m of metering) expect(m).toMatchObject({ kind: 5, parentSpanId: publish.spanId });
      // And of the registry's statistics read model, which counts the partner's events per day and type.
      const counted = spans.filter((s) => s.service === 'partner-registry' && s.name === 'process lead.created');
      for (const c of counted) expect(c).toMatchObject({ kind: 5, parentSpanId: publish.spanId });
      expect(new Set(spans.map((s) => s.service))).toEqual(
        new Set(['gateway', 'webhook-dispatcher', 'billing', ...(counted.length ? ['partner-registry'] : [])]),
      );
      expect(otlp.refused()).toBe(0);
    } finally {
      await new Promise<void>((r) => receiver.close(() => r()));
    }
  });
});
