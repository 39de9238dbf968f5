import type { Partner } from '@pep/contracts';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';

const names = testNames('prtint');
let reg: Registry;
beforeAll(async () => {
  reg = await startRegistry(names);
});
afterAll(async () => {
  await reg?.stop();
});

const newPartner = (name = 'Acme') =>
  reg.ok<Partner>('partners.create', admin, { body: { name, type: 'technology', contact_email: 'ops@acme.test' } });

describe('partners (commands and the partners read model)', () => {
  it('creates, updates, activates and suspends; every reply reflects the new state and GET agrees right away', async () => {
    const p = await newPartner();
    expect(p).toMatchObject({ object: 'partner', status: 'pending', tier: 'standard', name: 'Acme' });
    expect(p.id).toMatch(/^prt_/);
    expect(await reg.ok('partners.get', admin, { params: { id: p.id } })).toEqual(p);

    const u = await reg.ok<Partner>('partners.update', admin, { params: { id: p.id }, body: { name: 'Acme Inc', tier: 'premium' } });
    expect(u).toMatchObject({ name: 'Acme Inc', tier: 'premium' });
    expect(u.version).toBeGreaterThan(p.version);
    expect(await reg.ok('partners.get', admin, { params: { id: p.id } })).toEqual(u);

    const a = await reg.ok<Partner>('partners.activate', admin, { params: { id: p.id } });
    expect(a.status).toBe('active');
    const s = await reg.ok<Partner>('partners.suspend', admin, { params: { id: p.id }, body: { reason: 'unpaid invoice' } });
    expect(s).toMatchObject({ status: 'suspended', status_reason: 'unpaid invoice' });
    expect(await reg.ok('partners.get', admin, { params: { id: p.id } })).toEqual(s);
  });

  it('answers 409 with a problem body for an illegal transition and changes nothing', async () => {
    const p = await newPartner();
    await reg.ok('partners.terminate', admin, { params: { id: p.id }, body: { reason: 'contract ended' } });
    const r = await reg.call('partners.suspend', admin, { params: { id: p.id }, body: { reason: 'x' } });
    expect(statusOf(r)).toBe(409);
    expect(r.ok ? undefined : r.problem.type).toMatch(/illegal-transition/);
    expect(await reg.ok('partners.get', admin, { params: { id: p.id } })).toMatchObject({ status: 'terminated' });
  });

  it('validates bodies (422 naming the field) and answers 404 for unknown partners', async () => {
    const bad = await reg.call('partners.create', admin, { body: { name: 'x', type: 'nope', contact_email: 'a@b.test' } });
    expect(statusOf(bad)).toBe(422);
    expect(JSON.stringify(bad)).toContain('type');
    expect(statusOf(await reg.call('partners.get', admin, { params: { id: 'prt_missing' } }))).toBe(404);
    expect(statusOf(await reg.call('partners.activate', admin, { params: { id: 'prt_missing' } }))).toBe(404);
  });

  it('pages with limit and starting_after', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await newPartner(`Page ${i}`)).id);
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await reg.ok<{ data: Partner[]; has_more: boolean }>('partners.list', admin, {
        query: { limit: '2', ...(after ? { starting_after: after } : {}) },
      });
      expect(page.data.length).toBeLessThanOrEqual(2);
      all.push(...page.data.map((p) => p.id));
      if (!page.has_more) break;
      after = page.data[page.data.length - 1]?.id;
    }
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(ids));
  });

  it('lets a partner see and change only itself (another partner is 404)', async () => {
    const a = await newPartner('A');
    const b = await newPartner('B');
    const pa = partnerPrincipal(a.id);
    expect(await reg.ok('partners.get', pa, { params: { id: a.id } })).toMatchObject({ id: a.id });
    expect(statusOf(await reg.call('partners.get', pa, { params: { id: b.id } }))).toBe(404);
    expect(statusOf(await reg.call('partners.update', pa, { params: { id: b.id }, body: { name: 'pwned' } }))).toBe(404);
    expect(statusOf(await reg.call('partners.suspend', pa, { params: { id: b.id }, body: { reason: 'x' } }))).toBe(404);
    const list = await reg.ok<{ data: Partner[] }>('partners.list', pa, { query: {} });
    expect(list.data.map((p) => p.id)).toEqual([a.id]);
    expect(await reg.ok('partners.get', admin, { params: { id: b.id } })).toMatchObject({ name: 'B' });
  });

  it('keeps contacts with roles and versioned agreements, visible only to their partner', async () => {
    const p = await newPartner('Contracts');
    const other = await newPartner('Other');
    const pp = partnerPrincipal(p.id);
    const c = await reg.ok<{ id: string; role: string }>('partners.contacts.add', pp, {
      params: { id: p.id },
      body: { name: 'Tess', email: 'tess@acme.test', role: 'technical' },
    });
    expect(c).toMatchObject({ object: 'contact', role: 'technical', partner_id: p.id });
    await reg.ok('partners.contacts.add', admin, {
      params: { id: p.id },
      body: { name: 'Bill', email: 'bill@acme.test', role: 'billing' },
    });
    const tech = await reg.ok<{ data: { email: string }[] }>('partners.contacts.list', pp, {
      params: { id: p.id },
      query: { role: 'technical' },
    });
    expect(tech.data.map((x) => x.email)).toEqual(['tess@acme.test']);
    expect(statusOf(await reg.call('partners.contacts.list', partnerPrincipal(other.id), { params: { id: p.id } }))).toBe(404);
    expect(
      statusOf(await reg.call('partners.contacts.remove', partnerPrincipal(other.id), { params: { id: p.id, contact_id: c.id } })),
    ).toBe(404);
    expect(statusOf(await reg.call('partners.contacts.remove', pp, { params: { id: p.id, contact_id: c.id } }))).toBe(204);
    expect((await reg.ok<{ data: unknown[] }>('partners.contacts.list', pp, { params: { id: p.id } })).data).toHaveLength(1);

    const v1 = await reg.ok<{ id: string; version: number; status: string }>('partners.agreements.sign', admin, {
      params: { id: p.id },
      body: {
        signed_by: 'CEO',
        effective_at: '2025-01-01T00:00:00Z',
        expires_at: '2027-01-01T00:00:00Z',
        revenue_share: { first_year_pct: 20, renewal_pct: 10 },
      },
    });
    expect(v1).toMatchObject({ version: 1, status: 'active', revenue_share: { first_year_pct: 20, renewal_pct: 10 } });
    const v2 = await reg.ok<{ id: string }>('partners.agreements.sign', admin, {
      params: { id: p.id },
      body: { signed_by: 'CEO', effective_at: '2099-01-01T00:00:00Z', revenue_share: { first_year_pct: 25, renewal_pct: 12 } },
    });
    const list = await reg.ok<{ data: { id: string; version: number; status: string; superseded_by: string | null }[] }>(
      'partners.agreements.list',
      pp,
      { params: { id: p.id } },
    );
    expect(list.data.map((a) => [a.version, a.status])).toEqual([
      [2, 'scheduled'],
      [1, 'active'],
    ]);
    expect(list.data[1]?.superseded_by).toBe(v2.id);
    expect(statusOf(await reg.call('partners.agreements.sign', pp, { params: { id: p.id }, body: {} }))).toBe(403);
    expect(statusOf(await reg.call('partners.agreements.list', partnerPrincipal(other.id), { params: { id: p.id } }))).toBe(404);
  });
});
