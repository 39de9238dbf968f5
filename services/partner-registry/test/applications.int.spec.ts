import type { Application, Partner } from '@pep/contracts';
import { aggregateFilter } from '@pep/events';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';
import { readAll } from './support/stream.ts';

const names = testNames('appint');
let reg: Registry;
let owner: Partner;
let stranger: Partner;
beforeAll(async () => {
  reg = await startRegistry(names);
  const mk = async (name: string) => {
    const p = await reg.ok<Partner>('partners.create', admin, { body: { name, type: 'technology', contact_email: 'o@p.test' } });
    return reg.ok<Partner>('partners.activate', admin, { params: { id: p.id } });
  };
  owner = await mk('Owner');
  stranger = await mk('Stranger');
});
afterAll(async () => {
  await reg?.stop();
});

const body = {
  name: 'Lead sync',
  description: 'Pushes leads into the CRM',
  redirect_uris: ['https://app.owner.test/oauth/callback'],
  scopes: ['read:leads', 'write:leads'],
  webhook_url: 'https://127.0.0.1/hooks',
  health_url: 'https://8.8.8.8/health',
  privacy_url: 'https://owner.test/privacy',
  terms_url: 'https://owner.test/terms',
};

describe('applications: review workflow', () => {
  it('validates on submit, stores and shows the results, and goes through review to published', async () => {
    const me = partnerPrincipal(owner.id);
    const app = await reg.ok<Application>('applications.create', me, { body });
    expect(app).toMatchObject({ object: 'application', status: 'draft', partner_id: owner.id, validation: null });

    // The webhook URL points at loopback: the SSRF rule fails the validation, and approval is refused.
    const submitted = await reg.ok<Application>('applications.submit', me, { params: { id: app.id } });
    expect(submitted.status).toBe('submitted');
    expect(submitted.validation?.passed).toBe(false);
    expect(submitted.validation?.checks.find((c) => c.check === 'webhook_url_public')).toMatchObject({ passed: false });
    expect((await reg.ok<Application>('applications.get', me, { params: { id: app.id } })).validation).toEqual(submitted.validation);
    await reg.ok('applications.start-review', admin, { params: { id: app.id }, body: { note: 'picked up' } });
    const refused = await reg.call('applications.approve', admin, { params: { id: app.id } });
    expect(statusOf(refused)).toBe(409);
    expect(JSON.stringify(refused)).toContain('webhook_url_public');
    await reg.ok('applications.request-changes', admin, { params: { id: app.id }, body: { note: 'use a public webhook URL' } });

    await reg.ok('applications.update', me, { params: { id: app.id }, body: { webhook_url: 'https://8.8.4.4/hooks' } });
    const again = await reg.ok<Application>('applications.submit', me, { params: { id: app.id } });
    expect(again.validation?.passed).toBe(true);
    await reg.ok('applications.start-review', admin, { params: { id: app.id } });
    await reg.ok('applications.approve', admin, { params: { id: app.id }, body: { note: 'ship it' } });
    const published = await reg.ok<Application>('applications.publish', me, { params: { id: app.id } });
    expect(published).toMatchObject({ status: 'published', webhook_url: 'https://8.8.4.4/hooks' });
    expect(published.review_notes.map((n) => [n.action, n.note])).toEqual([
      ['review_started', 'picked up'],
      ['changes_requested', 'use a public webhook URL'],
      ['review_started', null],
      ['approved', 'ship it'],
    ]);

    const events = await readAll(reg.bus, aggregateFilter(names.SUBJECT_PREFIX, 'application'));
    const pub = events.find((e) => e.type === 'application.published');
    expect(pub).toMatchObject({ partnerid: owner.id, data: { application_id: app.id, name: 'Lead sync', scopes: body.scopes } });

    await reg.ok('applications.deprecate', me, { params: { id: app.id }, body: { reason: 'v2' } });
    const retired = await reg.ok<Application>('applications.retire', me, { params: { id: app.id } });
    expect(retired.status).toBe('retired');
    expect(statusOf(await reg.call('applications.publish', me, { params: { id: app.id } }))).toBe(409);
  });

  it('only reviewers review; an admin names the owner; scopes beyond the tier fail validation', async () => {
    const me = partnerPrincipal(owner.id);
    expect(statusOf(await reg.call('applications.create', admin, { body }))).toBe(422);
    const app = await reg.ok<Application>('applications.create', admin, {
      body: { ...body, webhook_url: 'https://8.8.4.4/h', scopes: ['manage:*'], partner_id: owner.id },
    });
    expect(app.partner_id).toBe(owner.id);
    const s = await reg.ok<Application>('applications.submit', me, { params: { id: app.id } });
    expect(s.validation?.checks.filter((c) => !c.passed).map((c) => c.check)).toEqual(['scopes_fit_tier']);
    expect(statusOf(await reg.call('applications.start-review', me, { params: { id: app.id } }))).toBe(403);
  });

  it("hides another partner's applications (404) and changes nothing", async () => {
    const app = await reg.ok<Application>('applications.create', partnerPrincipal(owner.id), { body });
    const them = partnerPrincipal(stranger.id);
    for (const [pattern, extra] of [
      ['applications.get', {}],
      ['applications.update', { body: { name: 'hijacked' } }],
      ['applications.submit', {}],
      ['applications.publish', {}],
      ['applications.deprecate', {}],
    ] as const) {
      expect(statusOf(await reg.call(pattern, them, { params: { id: app.id }, ...extra })), pattern).toBe(404);
    }
    expect(statusOf(await reg.call('applications.create', them, { body: { ...body, partner_id: owner.id } }))).toBe(404);
    const list = await reg.ok<{ data: Application[] }>('applications.list', them, { query: { partner_id: owner.id } });
    expect(list.data).toEqual([]);
    expect(await reg.ok('applications.get', admin, { params: { id: app.id } })).toMatchObject({ name: 'Lead sync', status: 'draft' });
  });
});
