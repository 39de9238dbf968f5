import { describe, expect, it } from 'vitest';
import {
  ApplicationCreated,
  ApplicationPublished,
  ApplicationPublishedV1,
  ApplicationUpdated,
  CreateApplicationBody,
  UpdateApplicationBody,
  getDefinition,
  latestVersion,
  type PlatformEvent,
  upcast,
  validateEvent,
} from '../index.ts';

// application.published as partner-registry appended it before v2: a snapshot without listing fields.
const v1Snapshot = {
  application_id: 'app_legacy',
  partner_id: 'prt_legacy',
  status: 'published',
  name: 'CRM sync',
  description: 'Syncs leads',
  redirect_uris: ['https://app.acme.test/cb'],
  scopes: ['read:leads'],
  webhook_url: null,
  health_url: null,
  privacy_url: 'https://acme.test/privacy',
  terms_url: null,
  published_at: '2026-02-01T00:00:00.000Z',
};
const storedV1: PlatformEvent = {
  specversion: '1.0',
  id: 'evt_legacy_app',
  source: 'partner-registry',
  type: 'application.published',
  time: '2026-02-01T00:00:00Z',
  datacontenttype: 'application/json',
  schemaversion: 1,
  partnerid: 'prt_legacy',
  data: v1Snapshot,
};
const none = {
  tagline: null,
  long_description: null,
  logo_url: null,
  screenshots: [],
  categories: [],
  support_email: null,
  documentation_url: null,
  pricing_plans: [],
};

describe('application v1 → v2 upcasters (listing fields)', () => {
  it('created, updated and published are at v2; v1 stays in the catalog with its upcaster', () => {
    for (const type of ['application.created', 'application.updated', 'application.published']) {
      expect(latestVersion(type)).toBe(2);
      expect(typeof getDefinition(type, 1)?.upcast).toBe('function');
    }
    expect(getDefinition('application.published')).toBe(ApplicationPublished);
    expect(getDefinition('application.published', 1)).toBe(ApplicationPublishedV1);
  });

  it('reads a stored v1 snapshot as v2 with no listing fields stated, without touching the input', () => {
    const read = upcast(storedV1);
    expect(read.schemaversion).toBe(2);
    expect(read.data).toEqual({ ...v1Snapshot, ...none });
    expect(storedV1.data).toEqual(v1Snapshot);
    expect(ApplicationPublished.data.safeParse(read.data).success).toBe(true);
    // a v1 snapshot does not pass as v2 data (the listing fields are required there)
    expect(ApplicationPublished.data.safeParse(v1Snapshot).success).toBe(false);
  });

  it('created v1 upcasts the same way; an updated v1 is unchanged (it never named listing fields)', () => {
    const { status: _s, published_at: _p, ...fields } = v1Snapshot;
    const created = upcast({ ...storedV1, id: 'evt_c', type: 'application.created', data: { ...fields, status: 'draft' } });
    expect(created.data).toEqual({ ...fields, status: 'draft', ...none });
    expect(ApplicationCreated.data.safeParse(created.data).success).toBe(true);
    const updatedData = { application_id: 'app_legacy', partner_id: 'prt_legacy', name: 'CRM sync 2' };
    const updated = upcast({ ...storedV1, id: 'evt_u', type: 'application.updated', data: updatedData });
    expect(updated).toMatchObject({ schemaversion: 2, data: updatedData });
    expect(ApplicationUpdated.data.safeParse(updated.data).success).toBe(true);
  });

  it('a v2 snapshot passes through unchanged, and is validated against the v2 schema', () => {
    const data = { ...v1Snapshot, ...none, tagline: 'Leads both ways', categories: ['leads'] };
    const v2 = { ...storedV1, id: 'evt_v2', schemaversion: 2, data };
    expect(upcast(v2)).toEqual(v2);
    expect(validateEvent(v2).ok).toBe(true);
    const bad = validateEvent({ ...v2, data: { ...data, pricing_plans: [{ name: 'x', model: 'gift', amount: 1 }] } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.issues.map((i) => i.path)).toContain('data.pricing_plans.0.model');
  });
});

describe('application bodies validate the listing fields', () => {
  const base = { name: 'CRM sync', description: 'Syncs leads' };
  const issues = (body: unknown) => {
    const r = CreateApplicationBody.safeParse(body);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };
  it('accepts a full listing, refuses each bad field by name', () => {
    expect(
      issues({
        ...base,
        tagline: 'Leads both ways',
        long_description: '# CRM sync',
        logo_url: 'https://cdn.example.com/l.png',
        screenshots: ['https://cdn.example.com/1.png', 'https://cdn.example.com/2.png', 'https://cdn.example.com/3.png'],
        categories: ['leads'],
        support_email: 'help@example.com',
        documentation_url: 'https://docs.example.com',
        pricing_plans: [{ name: 'Team', model: 'flat', amount: 1900, currency: 'EUR', interval: 'month' }],
      }),
    ).toEqual([]);
    expect(issues({ ...base, screenshots: ['https://cdn.example.com/1.png'] })).toEqual(['screenshots']);
    expect(issues({ ...base, logo_url: 'javascript:alert(1)' })).toEqual(['logo_url']);
    expect(issues({ ...base, support_email: 'not-an-email' })).toEqual(['support_email']);
    expect(issues({ ...base, categories: ['Not A Slug'] })).toEqual(['categories.0']);
    expect(issues({ ...base, pricing_plans: [{ name: 'x', model: 'flat', amount: 19.99 }] })).toEqual(['pricing_plans.0.amount']);
    expect(UpdateApplicationBody.safeParse({ tagline: null }).success).toBe(true);
  });
});
