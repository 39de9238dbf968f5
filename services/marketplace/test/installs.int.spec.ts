import { aggregateFilter, externalFilter } from '@pep/events';
import { testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyStats, evolveStats, type ListingStats } from '../src/domain/listing/trending.ts';
import { INSTALLS_PROJECTION } from '../src/projections/installs/index.ts';
import {
  admin,
  anonymous,
  envelope,
  type Marketplace,
  partnerPrincipal,
  readAll,
  startMarketplace,
  statusOf,
} from './support/marketplace.ts';

type InstallBody = { id: string; status: string; listing_id: string; customer_id: string; partner_id: string; removed_at: string | null };

let m: Marketplace;
let names: ReturnType<typeof testNames>;
let alpha: string;
let beta: string;
let old: string;

const install = (listing: string, customer: string) =>
  m.call('installs.create', admin, { params: { id: listing }, body: { customer_id: customer } });
const uninstall = (listing: string, customer: string) =>
  m.call('installs.delete', admin, { params: { id: listing, customer_id: customer } });
const listing = (id: string) =>
  m.ok<{ active_installs: number; total_installs: number; trending_score: number }>('listings.get', anonymous, { params: { id } });

beforeAll(async () => {
  names = testNames('mkti');
  m = await startMarketplace(names, { background: true });
  await m.partner('prt_ax000000000000000000000000', 'technology');
  await m.partner('prt_bx000000000000000000000000');
  alpha = await m.publish('prt_ax000000000000000000000000', 'app_a7phax00000000000000000000', {
    name: 'Alpha Leads',
    description: 'Leads for alpha.',
  });
  beta = await m.publish('prt_bx000000000000000000000000', 'app_betax000000000000000000000', {
    name: 'Beta Claims',
    description: 'Claims for beta.',
  });
  old = await m.publish('prt_bx000000000000000000000000', 'app_07dx0000000000000000000000', {
    name: 'Old Thing',
    description: 'Going away.',
  });
  await m.append(
    'application',
    'app_07dx0000000000000000000000',
    envelope('application.deprecated', {
      application_id: 'app_07dx0000000000000000000000',
      partner_id: 'prt_bx000000000000000000000000',
      status: 'deprecated',
      reason: 'replaced',
    }),
  );
  await m.settle();
});
afterAll(async () => {
  await m?.stop();
});

describe('installs', () => {
  it('installs once per (customer, listing): 201, then 200 with the same install', async () => {
    const first = await install(alpha, 'cus_1');
    expect(statusOf(first)).toBe(201);
    const body = (first as { body: InstallBody }).body;
    expect(body).toMatchObject({
      status: 'active',
      listing_id: alpha,
      customer_id: 'cus_1',
      partner_id: 'prt_ax000000000000000000000000',
      removed_at: null,
    });
    const again = await install(alpha, 'cus_1');
    expect(statusOf(again)).toBe(200);
    expect((again as { body: InstallBody }).body.id).toBe(body.id);
    expect(await listing(alpha)).toMatchObject({ active_installs: 1, total_installs: 1 });
  });

  it('keeps one active install when the same install races itself', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => install(beta, 'cus_race')));
    const ids = new Set(replies.map((r) => (r as { body: InstallBody }).body.id));
    expect(ids.size).toBe(1);
    expect(replies.filter((r) => statusOf(r) === 201)).toHaveLength(1);
    const created = (await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'install'))).filter(
      (e) => e.type === 'install.created' && (e.data as { customer_id: string }).customer_id === 'cus_race',
    );
    expect(created).toHaveLength(1);
  });

  it('uninstalls (idempotent), and a new install afterwards is a new one', async () => {
    const first = (await m.ok<InstallBody>('installs.create', admin, { params: { id: alpha }, body: { customer_id: 'cus_2' } })).id;
    const gone = await uninstall(alpha, 'cus_2');
    expect(statusOf(gone)).toBe(200);
    expect((gone as { body: InstallBody }).body).toMatchObject({ id: first, status: 'removed' });
    expect((gone as { body: InstallBody }).body.removed_at).not.toBeNull();
    const again = await uninstall(alpha, 'cus_2');
    expect(statusOf(again)).toBe(200);
    expect((again as { body: InstallBody }).body).toMatchObject({ id: first, status: 'removed' });
    const re = await install(alpha, 'cus_2');
    expect(statusOf(re)).toBe(201);
    expect((re as { body: InstallBody }).body.id).not.toBe(first);
    // cus_1 (active) and cus_2 (reinstalled): 2 active, 3 installs ever
    expect(await listing(alpha)).toMatchObject({ active_installs: 2, total_installs: 3 });
  });

  it('refuses what it cannot do with a 4xx and changes nothing', async () => {
    const before = (await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'install'))).length;
    expect(statusOf(await install(old, 'cus_1'))).toBe(409);
    expect(statusOf(await install('lst_n0pex000000000000000000000', 'cus_1'))).toBe(404);
    expect(statusOf(await uninstall(beta, 'cus_never'))).toBe(404);
    const bad = await m.call('installs.create', admin, { params: { id: alpha }, body: { customer_id: 'bad id!' } });
    expect(statusOf(bad)).toBe(422);
    expect(JSON.stringify(bad.ok ? {} : bad.problem)).toContain('customer_id');
    expect(statusOf(await m.call('installs.create', admin, { params: { id: alpha }, body: { customer_id: 'c', extra: 1 } }))).toBe(422);
    expect((await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'install'))).length).toBe(before);
  });

  it("emits integration.connected / integration.disconnected on the listing partner's subject, once each", async () => {
    const ins = await m.ok<InstallBody>('installs.create', admin, { params: { id: beta }, body: { customer_id: 'cus_biz' } });
    await uninstall(beta, 'cus_biz');
    const events = await waitUntil(
      async () => {
        const all = (await readAll(m.bus, externalFilter(names.SUBJECT_PREFIX))).filter(
          (e) => (e.data as { integration_id?: string }).integration_id === ins.id,
        );
        return all.length >= 2 ? all : undefined;
      },
      { what: 'integration events' },
    );
    expect(events.map((e) => e.type)).toEqual(['integration.connected', 'integration.disconnected']);
    for (const e of events) {
      expect(e.partnerid).toBe('prt_bx000000000000000000000000');
      expect(e.subject_name).toBe(`${names.SUBJECT_PREFIX}.ext.prt_bx000000000000000000000000.${e.type}`);
      expect(e.data).toMatchObject({ application_id: 'app_betax000000000000000000000', customer_id: 'cus_biz' });
    }
    expect(events[1]?.data).toMatchObject({ reason: 'uninstalled', initiated_by: 'platform' });
  });

  it("lets a partner list only its own listings' installs", async () => {
    const a = await m.ok<{ data: InstallBody[] }>('installs.list', partnerPrincipal('prt_ax000000000000000000000000'), {
      query: { limit: '100' },
    });
    expect(a.data.length).toBeGreaterThan(0);
    expect(a.data.every((i) => i.partner_id === 'prt_ax000000000000000000000000')).toBe(true);
    const named = await m.ok<{ data: InstallBody[] }>('installs.list', partnerPrincipal('prt_ax000000000000000000000000'), {
      query: { partner_id: 'prt_bx000000000000000000000000' },
    });
    expect(named.data.every((i) => i.partner_id === 'prt_ax000000000000000000000000')).toBe(true);
    const all = await m.ok<{ data: InstallBody[] }>('installs.list', admin, { query: { limit: '100', status: 'active' } });
    expect(new Set(all.data.map((i) => i.partner_id))).toEqual(
      new Set(['prt_ax000000000000000000000000', 'prt_bx000000000000000000000000']),
    );
  });
});

describe('counts and trending are a fold of the stream', () => {
  const foldStream = async () => {
    const out = new Map<string, ListingStats>();
    for (const e of await readAll(m.bus, aggregateFilter(names.SUBJECT_PREFIX, 'install'))) {
      const id = (e.data as { listing_id: string }).listing_id;
      out.set(id, evolveStats(out.get(id) ?? emptyStats(), e));
    }
    return out;
  };
  const stored = async () => {
    const rows = await m.db
      .selectFrom('listing_stats')
      .select(['listing_id', 'active_installs', 'total_installs', 'trend_weight'])
      .execute();
    return new Map(
      rows.map((r) => [
        r.listing_id,
        { active_installs: r.active_installs, total_installs: r.total_installs, trend_weight: r.trend_weight },
      ]),
    );
  };

  it('stores exactly the fold, and a rebuild from the start gives the same numbers bit for bit', async () => {
    for (let i = 0; i < 30; i++) await install(i % 3 === 0 ? alpha : beta, `cus_bulk_${i}`);
    for (let i = 0; i < 30; i += 4) await uninstall(i % 3 === 0 ? alpha : beta, `cus_bulk_${i}`);
    await m.settle();
    const fold = await foldStream();
    expect(await stored()).toEqual(fold);
    const activeRows = await m.db.selectFrom('installs').select(['listing_id']).where('active', '=', true).execute();
    for (const [id, s] of fold) expect(activeRows.filter((r) => r.listing_id === id)).toHaveLength(s.active_installs);

    const runner = m.projections.get(INSTALLS_PROJECTION);
    expect(await m.db.selectFrom('listing_stats').select('listing_id').execute()).not.toHaveLength(0);
    await runner?.rebuild({ from: 'start' });
    // A read right after rebuild() waits for the rebuilt read model (not the checkpoint from before the reset).
    await runner?.waitFor(undefined, 20_000);
    expect(await stored()).toEqual(fold);
  });

  it('sorts search by active installs and by trending', async () => {
    const byInstalls = await m.ok<{ data: { id: string; active_installs: number }[] }>('listings.search', anonymous, {
      query: { sort: 'installs' },
    });
    const counts = byInstalls.data.map((l) => l.active_installs);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(byInstalls.data[0]?.id).toBe(beta);
    const byTrend = await m.ok<{ data: { id: string; trending_score: number }[] }>('listings.search', anonymous, {
      query: { sort: 'trending' },
    });
    const scores = byTrend.data.map((l) => l.trending_score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(scores[0]).toBeGreaterThan(0);
  });
});
