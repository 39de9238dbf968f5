import { randomBytes } from 'node:crypto';
import {
  createTestBus,
  freePort,
  serviceEnv,
  spawnService,
  type TestNames,
  testNames,
  waitReady,
  waitUntil,
  startReceiver,
} from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBusiness, startDispatcherProcess } from './support/harness.ts';

// The dispatcher behind the real gateway process: its routes come from the contracts route table.
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let dispatcher: Awaited<ReturnType<typeof startDispatcherProcess>>;
let gateway: ReturnType<typeof spawnService>;
let base = '';
const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };

beforeAll(async () => {
  names = testNames('whg');
  world = await createTestBus(names, ['webhook-dispatcher', 'gateway']);
  dispatcher = await startDispatcherProcess(names);
  const port = await freePort();
  gateway = spawnService(
    'gateway',
    serviceEnv(names, { GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, STREAM_MAX_AGE_HOURS: '2' }),
  );
  base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}/readyz`, gateway);
});

afterAll(async () => {
  await gateway?.stop();
  await dispatcher?.proc.stop();
  await world?.cleanup();
});

describe('webhook endpoints through the gateway', () => {
  it('registers an endpoint over HTTP, delivers a verified event, and shows the attempt log', async () => {
    const r = await startReceiver();
    try {
      const bad = await fetch(`${base}/v1/webhook-endpoints`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ url: r.url, event_types: ['not a type'] }),
      });
      expect(bad.status).toBe(422);
      const res = await fetch(`${base}/v1/webhook-endpoints`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ url: r.url, event_types: ['lead.*'], partner_id: 'prt_01jzzzzzzzzzzzzzzzzzzzzzgw' }),
      });
      expect(res.status).toBe(201);
      const ep = (await res.json()) as { id: string; secret: string };
      r.secrets.push(ep.secret);
      await publishBusiness(world.bus, 'prt_01jzzzzzzzzzzzzzzzzzzzzzgw', 'lead.created', { via: 'gateway-test' });
      await waitUntil(() => r.received.length >= 1 || undefined);
      expect(r.received[0]?.verified).toBe(true);
      const deliveries = await waitUntil(async () => {
        const d = (await (await fetch(`${base}/v1/webhook-endpoints/${ep.id}/deliveries`, { headers: auth })).json()) as {
          data: { id: string; status: string }[];
        };
        return d.data[0]?.status === 'succeeded' ? d.data : undefined;
      });
      const attempts = (await (await fetch(`${base}/v1/deliveries/${deliveries[0]?.id}/attempts`, { headers: auth })).json()) as {
        data: { status_code: number }[];
      };
      expect(attempts.data.map((a) => a.status_code)).toEqual([204]);
      const types = (await (await fetch(`${base}/v1/event-types`, { headers: auth })).json()) as { data: { type: string }[] };
      expect(types.data.map((t) => t.type)).toContain('lead.created');
    } finally {
      await r.close();
    }
  });
});
