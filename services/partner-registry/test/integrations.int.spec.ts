import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Application, Integration, Partner } from '@pep/contracts';
import { aggregateSubject } from '@pep/events';
import { testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';
import { readAll } from './support/stream.ts';

const names = testNames('intg');
let reg: Registry;
let health: Server;
let mode: 'ok' | 'fail' | 'slow' = 'ok';
let healthUrl: string;
let owner: Partner;
let other: Partner;

beforeAll(async () => {
  health = createServer((_req, res) => {
    if (mode === 'fail') res.writeHead(500).end('boom');
    else if (mode === 'slow') setTimeout(() => res.writeHead(200).end('ok'), 250);
    else res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  reg = await startRegistry(
    names,
    {
      SSRF_ALLOW: '127.0.0.1/32',
      ALLOW_HTTP_URLS: 'true',
      INTEGRATION_HEALTH_INTERVAL_MS: '150',
      INTEGRATION_DEGRADED_LATENCY_MS: '120',
      INTEGRATION_HEALTH_TIMEOUT_MS: '1000',
    },
    { background: true },
  );
  const mk = async (name: string) => {
    const p = await reg.ok<Partner>('partners.create', admin, { body: { name, type: 'technology', contact_email: 'o@p.test' } });
    return reg.ok<Partner>('partners.activate', admin, { params: { id: p.id } });
  };
  owner = await mk('Owner');
  other = await mk('Other');
});
afterAll(async () => {
  await reg?.stop();
  await new Promise((r) => health?.close(r));
});

async function publishedApp(): Promise<Application> {
  const me = partnerPrincipal(owner.id);
  const app = await reg.ok<Application>('applications.create', me, {
    body: {
      name: 'Monitored app',
      description: 'has a health URL',
      health_url: healthUrl,
      privacy_url: 'https://owner.test/privacy',
      terms_url: 'https://owner.test/terms',
    },
  });
  const submitted = await reg.ok<Application>('applications.submit', me, { params: { id: app.id } });
  expect(submitted.validation?.passed, JSON.stringify(submitted.validation)).toBe(true);
  await reg.ok('applications.start-review', admin, { params: { id: app.id } });
  await reg.ok('applications.approve', admin, { params: { id: app.id } });
  return reg.ok<Application>('applications.publish', me, { params: { id: app.id } });
}

const getIntegration = (id: string) => reg.ok<Integration>('integrations.get', admin, { params: { id } });

describe('integrations: install, scheduled health checks, errors and metrics', () => {
  it('tracks up → down → degraded with errors and metrics, emits integration.failed once per outage, and stops after uninstall', async () => {
    const draft = await reg.ok<Application>('applications.create', partnerPrincipal(owner.id), {
      body: { name: 'Draft', description: 'd' },
    });
    expect(statusOf(await reg.call('integrations.install', admin, { body: { application_id: draft.id, customer_id: 'cus_1' } }))).toBe(409);

    const app = await publishedApp();
    const installed = await reg.ok<Integration>('integrations.install', partnerPrincipal(owner.id), {
      body: { application_id: app.id, customer_id: 'cus_42' },
    });
    expect(installed).toMatchObject({ object: 'integration', status: 'connected', partner_id: owner.id, customer_id: 'cus_42' });
    expect(installed.health.status).toBe('unknown');

    await waitUntil(async () => (await getIntegration(installed.id)).health.status === 'up', { what: 'health up' });
    mode = 'fail';
    await waitUntil(async () => (await getIntegration(installed.id)).health.consecutive_failures >= 3, { what: 'three failed checks' });
    const down = await getIntegration(installed.id);
    expect(down.health.status).toBe('down');
    expect(down.recent_errors[0]).toMatchObject({ message: 'HTTP 500' });
    expect(down.recent_errors[0]?.count).toBeGreaterThanOrEqual(3);

    mode = 'slow';
    await waitUntil(async () => (await getIntegration(installed.id)).health.status === 'degraded', { what: 'degraded' });
    mode = 'ok';
    const up = await waitUntil(async () => {
      const i = await getIntegration(installed.id);
      return i.health.status === 'up' ? i : undefined;
    });
    expect(up.metrics.calls).toBeGreaterThanOrEqual(5);
    expect(up.metrics.errors).toBeGreaterThanOrEqual(3);
    expect(up.metrics.error_rate).toBeCloseTo(up.metrics.errors / up.metrics.calls, 5);
    expect(up.metrics.avg_latency_ms).not.toBeNull();
    expect(up.recent_errors.map((e) => e.message)).toEqual(expect.arrayContaining(['HTTP 500']));

    const events = await readAll(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, 'integration', installed.id));
    expect(events[0]).toMatchObject({
      type: 'integration.connected',
      partnerid: owner.id,
      data: { application_id: app.id, customer_id: 'cus_42' },
    });
    expect(events.filter((e) => e.type === 'integration.failed')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'integration.health_checked').length).toBeGreaterThanOrEqual(up.metrics.calls);

    // Another partner cannot see or touch it.
    const them = partnerPrincipal(other.id);
    expect(statusOf(await reg.call('integrations.get', them, { params: { id: installed.id } }))).toBe(404);
    expect(statusOf(await reg.call('integrations.uninstall', them, { params: { id: installed.id } }))).toBe(404);
    expect(statusOf(await reg.call('integrations.check', them, { params: { id: installed.id } }))).toBe(404);
    expect((await reg.ok<{ data: Integration[] }>('integrations.list', them)).data).toEqual([]);
    expect((await reg.ok<{ data: Integration[] }>('integrations.list', partnerPrincipal(owner.id))).data.map((i) => i.id)).toEqual([
      installed.id,
    ]);

    // On demand, then uninstall: disconnected, and the scheduler stops checking it.
    const checked = await reg.ok<Integration>('integrations.check', partnerPrincipal(owner.id), { params: { id: installed.id } });
    expect(checked.metrics.calls).toBeGreaterThan(up.metrics.calls);
    const gone = await reg.ok<Integration>('integrations.uninstall', partnerPrincipal(owner.id), { params: { id: installed.id } });
    expect(gone).toMatchObject({ status: 'disconnected' });
    const after = gone.metrics.calls;
    await new Promise((r) => setTimeout(r, 500));
    expect((await getIntegration(installed.id)).metrics.calls).toBe(after);
    const last = (await readAll(reg.bus, aggregateSubject(names.SUBJECT_PREFIX, 'integration', installed.id))).at(-1);
    expect(last).toMatchObject({ type: 'integration.disconnected', data: { reason: 'uninstalled' } });
  });
});
