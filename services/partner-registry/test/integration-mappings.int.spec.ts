import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Application, Integration, IntegrationMapping, Partner } from '@pep/contracts';
import { aggregateSubject } from '@pep/events';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';
import { readAll } from './support/stream.ts';

// Field mappings through the registry's handlers, against real NATS and Postgres: save (compiled, versioned,
// appended as events), 422 naming the expression's error and position, list, preview, remove.
const names = testNames('imap');
let reg: Registry;
let health: Server;
let owner: Partner;
let other: Partner;
let integration: Integration;

beforeAll(async () => {
  health = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  const healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  reg = await startRegistry(names, { SSRF_ALLOW: '127.0.0.1/32', ALLOW_HTTP_URLS: 'true' });
  const mk = async (name: string) => {
    const p = await reg.ok<Partner>('partners.create', admin, { body: { name, type: 'technology', contact_email: 'o@p.test' } });
    return reg.ok<Partner>('partners.activate', admin, { params: { id: p.id } });
  };
  owner = await mk('Owner');
  other = await mk('Other');
  const me = partnerPrincipal(owner.id);
  const app = await reg.ok<Application>('applications.create', me, {
    body: {
      name: 'Mapped app',
      description: 'reshapes events',
      health_url: healthUrl,
      privacy_url: 'https://owner.test/privacy',
      terms_url: 'https://owner.test/terms',
    },
  });
  await reg.ok<Application>('applications.submit', me, { params: { id: app.id } });
  await reg.ok('applications.start-review', admin, { params: { id: app.id } });
  await reg.ok('applications.approve', admin, { params: { id: app.id } });
  await reg.ok<Application>('applications.publish', me, { params: { id: app.id } });
  integration = await reg.ok<Integration>('integrations.install', me, { body: { application_id: app.id, customer_id: 'cus_1' } });
});
afterAll(async () => {
  await reg?.stop();
  await new Promise((r) => health?.close(r));
});

const sample = { type: 'lead.created', data: { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' } };

describe('integration field mappings', () => {
  it('saves versioned mappings as events, refuses a bad expression with its error and position, and changes nothing then', async () => {
    const me = partnerPrincipal(owner.id);
    const params = { id: integration.id };
    const v1 = await reg.ok<IntegrationMapping>('integrations.mappings.set', me, {
      params,
      body: { event_type: 'lead.*', expression: '{ "email": email }' },
    });
    expect(v1).toMatchObject({ object: 'integration_mapping', integration_id: integration.id, event_type: 'lead.*', version: 1 });
    const v2 = await reg.ok<IntegrationMapping>('integrations.mappings.set', me, {
      params,
      body: { event_type: 'lead.*', expression: '{ "email": email, "name": first_name & " " & last_name }' },
    });
    expect(v2.version).toBe(2);

    const bad = await reg.call('integrations.mappings.set', me, {
      params,
      body: { event_type: 'lead.*', expression: '{ "email": email ' },
    });
    expect(statusOf(bad)).toBe(422);
    const problem = !bad.ok ? (bad.problem as { errors?: { path: string; message: string }[]; expression_error?: unknown }) : undefined;
    expect(problem?.errors?.[0]).toMatchObject({ path: 'expression', message: expect.stringMatching(/^S0\d{3}: .* at position \d+$/) });
    expect(problem?.expression_error).toMatchObject({ code: expect.stringMatching(/^S0/), position: expect.any(Number) });
    const regex = await reg.call('integrations.mappings.set', me, {
      params,
      body: { event_type: '*', expression: '$match(email, /(a+)+$/)' },
    });
    expect(statusOf(regex)).toBe(422);

    const list = await reg.ok<{ data: IntegrationMapping[] }>('integrations.mappings.list', me, { params });
    expect(list.data.map((m) => [m.event_type, m.version])).toEqual([['lead.*', 2]]);
    const events = await readAll(reg.bus, aggregateSubject(reg.bus.prefix, 'integration', integration.id));
    expect(
      events.filter((e) => e.type.startsWith('integration.mapping')).map((e) => [e.type, (e.data as { version: number }).version]),
    ).toEqual([
      ['integration.mapping_set', 1],
      ['integration.mapping_set', 2],
    ]);
    // Another partner neither sees nor changes it.
    expect(statusOf(await reg.call('integrations.mappings.list', partnerPrincipal(other.id), { params }))).toBe(404);
    expect(
      statusOf(
        await reg.call('integrations.mappings.set', partnerPrincipal(other.id), { params, body: { event_type: '*', expression: '1' } }),
      ),
    ).toBe(404);
  });

  it('previews the saved mapping, an unsaved expression, a failing one, and an unmapped type', async () => {
    const me = partnerPrincipal(owner.id);
    const params = { id: integration.id };
    const saved = await reg.ok('integrations.mappings.preview', me, { params, body: { event: sample } });
    expect(saved).toMatchObject({
      object: 'mapping_preview',
      mapping: { event_type: 'lead.*', version: 2 },
      ok: true,
      payload: { email: 'ada@example.com', name: 'Ada Lovelace' },
      error: null,
    });
    const adhoc = await reg.ok('integrations.mappings.preview', me, {
      params,
      body: { event: sample, expression: '$event.type & ":" & email' },
    });
    expect(adhoc).toMatchObject({ mapping: { version: null }, ok: true, payload: 'lead.created:ada@example.com' });
    const loop = await reg.ok('integrations.mappings.preview', me, {
      params,
      body: { event: sample, expression: '($f := function($x){ $f($x + 1) }; $f(0))' },
    });
    expect(loop).toMatchObject({ ok: false, payload: null, error: { class: expect.stringMatching(/^(depth|timeout)$/) } });
    const unmapped = await reg.ok('integrations.mappings.preview', me, {
      params,
      body: { event: { type: 'claim.filed', data: { a: 1 } } },
    });
    expect(unmapped).toMatchObject({ mapping: null, ok: true, payload: { a: 1 } });
    expect(statusOf(await reg.call('integrations.mappings.preview', me, { params, body: { event: sample, expression: '{' } }))).toBe(422);
  });

  it('removes a mapping (an event), and a later save continues its version count', async () => {
    const me = partnerPrincipal(owner.id);
    const params = { id: integration.id };
    const removed = await reg.ok<IntegrationMapping>('integrations.mappings.remove', me, { params: { ...params, event_type: 'lead.*' } });
    expect(removed.version).toBe(2);
    expect((await reg.ok<{ data: unknown[] }>('integrations.mappings.list', me, { params })).data).toEqual([]);
    expect(statusOf(await reg.call('integrations.mappings.remove', me, { params: { ...params, event_type: 'lead.*' } }))).toBe(404);
    const again = await reg.ok<IntegrationMapping>('integrations.mappings.set', me, {
      params,
      body: { event_type: 'lead.*', expression: 'email' },
    });
    expect(again.version).toBe(3);
  });
});
