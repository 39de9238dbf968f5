import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlatformEvent } from '@pep/contracts';
import { createDb } from '@pep/db';
import { aggregateSubject, publishEvent } from '@pep/events';
import { newId } from '@pep/runtime';
import { createTestBus, dbUrl, readAll, startReceiver, type TestNames, testNames, waitUntil } from '@pep/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DispatcherDB } from '../src/db/schema.ts';
import { partner, publishBusiness, rpcClient, startDispatcherProcess } from './support/harness.ts';

// A real dispatcher process counts every attempt into per-endpoint, per-minute rollups and reports failed attempts to
// integration-owned endpoints as integration errors, both through its outbox. The receivers are real: one answers
// 200, one 500 with a body, one is a TLS server whose self-signed certificate the dispatcher refuses (class `tls`).
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
let rpc: Awaited<ReturnType<typeof rpcClient>>;
let tls: Server;
let tlsDir: string;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
const P = newId('prt');

async function connectedIntegration(partnerId: string) {
  const id = newId('int');
  const ev: PlatformEvent = {
    specversion: '1.0',
    id: newId('evt'),
    source: 'urn:pep:partner-registry',
    type: 'integration.connected',
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    partnerid: partnerId,
    data: { integration_id: id, application_id: newId('app'), customer_id: 'cus_1', scopes: [], connected_at: new Date().toISOString() },
  };
  await publishEvent(world.bus, aggregateSubject(world.bus.prefix, 'integration', id), ev);
  return id;
}

async function endpoint(url: string, integrationId: string | null) {
  const body = { url, event_types: ['lead.*'], ...(integrationId ? { integration_id: integrationId } : {}) };
  return waitUntil(
    async () => {
      const res = await rpc.call('endpoints.create', partner(P), { body });
      return res.ok ? (res.body as { id: string; secret: string }) : undefined;
    },
    { what: 'an endpoint' },
  );
}

beforeAll(async () => {
  names = testNames('whtr');
  world = await createTestBus(names, ['webhook-dispatcher']);
  tlsDir = mkdtempSync(join(tmpdir(), 'whtr-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      join(tlsDir, 'key.pem'),
      '-out',
      join(tlsDir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  tls = createHttpsServer({ key: readFileSync(join(tlsDir, 'key.pem')), cert: readFileSync(join(tlsDir, 'cert.pem')) }, (_req, res) =>
    res.writeHead(200).end('ok'),
  );
  await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
  svc = await startDispatcherProcess(names, {
    WEBHOOK_REPLICA_ID: 'replica-a',
    WEBHOOK_RETRY_DELAYS_MS: '100,100',
    WEBHOOK_RETRY_JITTER: '0',
    WEBHOOK_MAINTENANCE_MS: '300',
  });
  rpc = await rpcClient(names);
});

afterAll(async () => {
  await rpc?.close();
  await svc?.proc.stop();
  for (const r of receivers) await r.close();
  await new Promise((r) => tls?.close(r));
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
  await world?.cleanup();
});

describe('traffic rollups and integration errors', () => {
  it('classifies TLS failures, reports failed attempts of integration endpoints, and rolls up every attempt exactly once across a SIGTERM', async () => {
    const integ = await connectedIntegration(P);
    const ok = await startReceiver();
    const failing = await startReceiver();
    failing.setRespond((_r, res) => {
      res.statusCode = 500;
      res.end('{"error":"database is down"}');
    });
    receivers.push(ok, failing);
    const okEp = await endpoint(ok.url, integ);
    ok.secrets.push(okEp.secret);
    const failEp = await endpoint(failing.url, integ);
    failing.secrets.push(failEp.secret);
    const tlsEp = await endpoint(`https://127.0.0.1:${(tls.address() as AddressInfo).port}/hook`, integ);

    const events = [];
    for (let i = 0; i < 3; i++) events.push(await publishBusiness(world.bus, P, 'lead.created', { n: i }));
    const db = createDb<DispatcherDB>(dbUrl(names, 'webhook-dispatcher'));
    try {
      // Three attempts per delivery to the two failing endpoints, one to the good one.
      const attemptsOf = async () =>
        (
          await sql<{ endpoint_id: string; error_class: string | null; n: number }>`
            select endpoint_id, error_class, count(*)::int as n from webhook_attempts group by 1, 2`.execute(db)
        ).rows;
      await waitUntil(
        async () => {
          const rows = await attemptsOf();
          const total = (ep: string) => rows.filter((r) => r.endpoint_id === ep).reduce((a, r) => a + r.n, 0);
          return total(okEp.id) === 3 && total(failEp.id) === 9 && total(tlsEp.id) === 9;
        },
        { what: 'every attempt made', timeoutMs: 30_000 },
      );
      const rows = await attemptsOf();
      expect(rows.find((r) => r.endpoint_id === tlsEp.id)?.error_class).toBe('tls_error');

      // Integration errors: one per failed attempt, with the response excerpt, through the outbox.
      const errors = await waitUntil(
        async () => {
          const all = (await readAll(world.bus, `${world.bus.prefix}.agg.webhook_delivery.>`)).filter(
            (e) => e.type === 'integration.delivery_failed',
          );
          return all.length >= 18 ? all : undefined;
        },
        { what: '18 integration errors' },
      );
      expect(errors).toHaveLength(18);
      expect(new Set(errors.map((e) => e.id)).size).toBe(18);
      const http = errors.find((e) => (e.data as { endpoint_id: string }).endpoint_id === failEp.id);
      expect(http?.data).toMatchObject({
        integration_id: integ,
        error_class: 'http_5xx',
        status_code: 500,
        excerpt: '{"error":"database is down"}',
      });
      expect(events.map((e) => e.id)).toContain((http?.data as { event_id?: string } | undefined)?.event_id);
      const tlsErr = errors.find((e) => (e.data as { endpoint_id: string }).endpoint_id === tlsEp.id);
      expect(tlsErr?.data).toMatchObject({ error_class: 'tls', status_code: null });
      expect((tlsErr?.data as { error?: string } | undefined)?.error).toMatch(
        /TLS: (DEPTH_ZERO_SELF_SIGNED_CERT|ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/,
      );

      // SIGTERM: the running minute goes to the outbox and waits for its end; a second replica publishes it then.
      expect(await svc.proc.stop('SIGTERM')).toBe(0);
      svc = await startDispatcherProcess(names, { WEBHOOK_REPLICA_ID: 'replica-b', WEBHOOK_MAINTENANCE_MS: '300' });
      const rollups = await waitUntil(
        async () => {
          const all = (await readAll(world.bus, `${world.bus.prefix}.agg.webhook_traffic.>`)).filter(
            (e) => e.type === 'webhook.deliveries.rolled_up',
          );
          const sum = all.reduce((a, e) => a + (e.data as { attempts: number }).attempts, 0);
          return sum >= 21 ? all : undefined;
        },
        { what: 'the rollups of every attempt', timeoutMs: 100_000, intervalMs: 500 },
      );
      type Rollup = {
        endpoint_id: string;
        integration_id?: string;
        attempts: number;
        succeeded: number;
        exhausted: number;
        reporter: string;
        by_class: Record<string, number>;
      };
      const data = rollups.map((e) => e.data as Rollup);
      const sumOf = (ep: string, f: (r: Rollup) => number) => data.filter((r) => r.endpoint_id === ep).reduce((a, r) => a + f(r), 0);
      // Equal to the fold of the attempt log, once each (ids are per endpoint, minute and reporter).
      expect(new Set(rollups.map((e) => e.id)).size).toBe(rollups.length);
      for (const ep of [okEp.id, failEp.id, tlsEp.id]) {
        const logged = rows.filter((r) => r.endpoint_id === ep).reduce((a, r) => a + r.n, 0);
        expect(sumOf(ep, (x) => x.attempts)).toBe(logged);
      }
      expect(sumOf(okEp.id, (x) => x.by_class.success ?? 0)).toBe(3);
      expect(sumOf(failEp.id, (x) => x.by_class.http_5xx ?? 0)).toBe(9);
      expect(sumOf(tlsEp.id, (x) => x.by_class.tls ?? 0)).toBe(9);
      expect(sumOf(okEp.id, (x) => x.succeeded)).toBe(3);
      expect(sumOf(failEp.id, (x) => x.exhausted)).toBe(3);
      expect(sumOf(tlsEp.id, (x) => x.attempts)).toBe(9);
      expect(data.every((r) => r.integration_id === integ && r.reporter === 'replica-a')).toBe(true);
      // Never delivered by webhook (the dispatcher's own telemetry would feed itself).
      expect(ok.received.filter((x) => x.body.includes('rolled_up') || x.body.includes('delivery_failed'))).toEqual([]);
    } finally {
      await db.destroy();
    }
  }, 170_000);
});
