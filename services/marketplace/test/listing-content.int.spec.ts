import { pgDeadLetters, rebuildBeside } from '@pep/events';
import { createLogger } from '@pep/runtime';
import { testNames } from '@pep/testing';
import { sql } from 'kysely';
import { marketplaceProjections } from '../src/service.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, anonymous, envelope, type Marketplace, startMarketplace, statusOf } from './support/marketplace.ts';

/**
 * The application's v2 snapshot (listing fields) becomes the listing's content, its Markdown rendered safely; the
 * ranking routes; featured by criteria only with a healthy integration (the registry's integration events).
 */
type Listing = {
  id: string;
  tagline: string | null;
  description: string;
  description_html: string;
  screenshots: string[];
  categories: string[];
  pricing: string | null;
  pricing_plans: { amount: number; currency: string }[];
  support_email: string | null;
};
type Ranking = {
  kind: string;
  data: { rank: number; reason: string | null; listing: { id: string } }[];
  has_more: boolean;
  next_cursor: string | null;
};

const P = 'prt_lcx00000000000000000000000';
const APP = 'app_lcx00000000000000000000000';
let m: Marketplace;
let names: ReturnType<typeof testNames>;

const snapshot = (over: Record<string, unknown> = {}) => ({
  application_id: APP,
  partner_id: P,
  status: 'published',
  name: 'Quillsync',
  description: 'Short description.',
  redirect_uris: [],
  scopes: ['read:leads'],
  webhook_url: null,
  health_url: null,
  privacy_url: 'https://quill.example.com/privacy',
  terms_url: 'https://quill.example.com/terms',
  tagline: 'Leads both ways',
  long_description:
    '# Quillsync\n\nSyncs **leads**. [Docs](https://docs.quill.example.com) [bad](javascript:alert(1)) <script>alert(1)</script>',
  logo_url: 'https://cdn.quill.example.com/logo.png',
  screenshots: ['https://cdn.quill.example.com/1.png', 'https://cdn.quill.example.com/2.png', 'https://cdn.quill.example.com/3.png'],
  categories: ['leads'],
  support_email: 'help@quill.example.com',
  documentation_url: 'https://docs.quill.example.com',
  pricing_plans: [{ name: 'Team', model: 'flat', amount: 1900, currency: 'EUR', interval: 'month', unit: null, trial_days: 0 }],
  published_at: new Date().toISOString(),
  ...over,
});
const v2 = (type: string, data: unknown) => ({ ...envelope(type, data, P), schemaversion: 2 });
const ranking = (kind: string, query: Record<string, string> = {}) => m.ok<Ranking>('rankings.get', anonymous, { params: { kind }, query });

beforeAll(async () => {
  names = testNames('mktlc');
  m = await startMarketplace(names);
  await m.partner(P);
  await m.append('application', APP, v2('application.published', snapshot()));
  await m.settle();
});
afterAll(async () => {
  await m?.stop();
});

describe('application.published v2 → listing content', () => {
  it("the snapshot's listing fields are the listing's content; the description is rendered without anything active", async () => {
    const l = await m.ok<Listing>('listings.get', anonymous, { params: { id: 'lst_lcx00000000000000000000000' } });
    expect(l).toMatchObject({
      tagline: 'Leads both ways',
      categories: ['leads'],
      pricing: 'flat',
      support_email: 'help@quill.example.com',
      pricing_plans: [{ amount: 1900, currency: 'EUR' }],
    });
    expect(l.screenshots).toHaveLength(3);
    expect(l.description).toContain('# Quillsync');
    expect(l.description_html).toContain('<h1>Quillsync</h1>');
    expect(l.description_html).toContain(
      '<a href="https://docs.quill.example.com" rel="nofollow noopener noreferrer" target="_blank">Docs</a>',
    );
    expect(l.description_html).not.toMatch(/<script|href="javascript/i);
    // found by a misspelled word of its tagline too (the typo dictionary holds names and taglines)
    const page = await m.ok<{ data: { id: string }[] }>('listings.search', anonymous, { query: { q: 'laeds both' } });
    expect(page.data.map((x) => x.id)).toContain(l.id);
  });

  it('a re-published snapshot updates the content until the listing publishes its own', async () => {
    await m.append('application', APP, v2('application.published', snapshot({ tagline: 'Leads, both ways, now faster' })));
    await m.settle();
    const l = await m.ok<Listing>('listings.get', anonymous, { params: { id: 'lst_lcx00000000000000000000000' } });
    expect(l.tagline).toBe('Leads, both ways, now faster');
    // the draft starts from what the catalog shows, and publishing it as is passes the checklist
    const draft = await m.ok<{ draft: { tagline: string | null }; ready: boolean }>('listings.draft.get', admin, {
      params: { id: l.id },
    });
    expect(draft.draft.tagline).toBe('Leads, both ways, now faster');
    expect(draft.ready).toBe(false); // the description is shorter than the checklist's 150 characters
  });
});

describe('rankings', () => {
  const apps = ['app_rkax0000000000000000000000', 'app_rkbx0000000000000000000000', 'app_rkcx0000000000000000000000'];
  const listingOf = (app: string) => `lst_${app.slice(4)}`;

  beforeAll(async () => {
    for (const [i, app] of apps.entries()) {
      const at = new Date(Date.UTC(2026, 5, 1 + i)).toISOString();
      await m.append(
        'application',
        app,
        v2('application.published', snapshot({ application_id: app, name: `Rank ${i}`, published_at: at })),
      );
    }
    await m.settle();
    // installs: c 3, b 2, a 1 (popular and trending in that order)
    for (const [i, app] of apps.entries()) {
      for (let k = 0; k <= i; k++)
        await m.ok('installs.create', admin, { params: { id: listingOf(app) }, body: { customer_id: `cus_rk${i}_${k}` } });
    }
  });

  it('popular by active installs, trending by install velocity, new by first publish date, with ranks and cursors', async () => {
    const popular = await ranking('popular', { limit: '2' });
    expect(popular.data.map((e) => [e.rank, e.listing.id])).toEqual([
      [1, listingOf(apps[2] as string)],
      [2, listingOf(apps[1] as string)],
    ]);
    expect(popular.has_more).toBe(true);
    const next = await ranking('popular', { limit: '2', cursor: popular.next_cursor as string });
    expect(next.data[0]).toMatchObject({ rank: 3, listing: { id: listingOf(apps[0] as string) } });
    expect((await ranking('trending', { limit: '3' })).data.map((e) => e.listing.id)).toEqual(apps.map(listingOf).reverse());
    const fresh = await ranking('new', { limit: '50' });
    const order = fresh.data.map((e) => e.listing.id).filter((id) => id.startsWith('lst_rk'));
    expect(order).toEqual(apps.map(listingOf).reverse());
    expect(statusOf(await m.call('rankings.get', anonymous, { params: { kind: 'hottest' } }))).toBe(422);
    expect(statusOf(await m.call('rankings.get', anonymous, { params: { kind: 'popular' }, query: { cursor: 'nope' } }))).toBe(422);
  });

  it('featured by the criteria only while no integration of the application is down or degraded', async () => {
    const star = listingOf(apps[2] as string);
    // 5 reviews of 5 stars from the customers that installed it, plus 2 more installs
    for (let k = 0; k < 5; k++) {
      const customer = `cus_star${k}`;
      await m.ok('installs.create', admin, { params: { id: star }, body: { customer_id: customer } });
      await m.ok('reviews.submit', admin, { params: { id: star }, body: { customer_id: customer, rating: 5, body: 'great' } });
    }
    const featured = async () => (await ranking('featured')).data.map((e) => [e.reason, e.listing.id]);
    expect(await featured()).toEqual([['criteria', star]]);

    const integration = 'int_starx000000000000000000000';
    const health = (type: string, data: Record<string, unknown>) =>
      m.append('integration', integration, v2(type, { integration_id: integration, application_id: apps[2], ...data }));
    await health('integration.connected', {});
    await m.settle();
    expect(await featured()).toEqual([['criteria', star]]);
    await health('integration.failed', { error_code: 'timeout' });
    await m.settle();
    expect(await featured()).toEqual([]);
    await health('integration.health_checked', {
      status: 'up',
      previous_status: 'down',
      latency_ms: 12,
      http_status: 200,
      error: null,
      checked_at: new Date().toISOString(),
    });
    await m.settle();
    expect(await featured()).toEqual([['criteria', star]]);
    // the same answer from the featured route
    const list = await m.ok<{ data: { reason: string; listing: { id: string } }[] }>('listings.featured', anonymous);
    expect(list.data.map((f) => [f.reason, f.listing.id])).toEqual([['criteria', star]]);
  });
});

describe('rebuild beside the live read model', () => {
  it('each marketplace projection declares its tables and rebuilt beside gives the same rows', async () => {
    await m.settle();
    for (const p of marketplaceProjections(names.SUBJECT_PREFIX)) {
      const tables = p.tables ?? [];
      expect(tables.length, p.name).toBeGreaterThan(0);
      const rows = () => Promise.all(tables.map(async (t) => (await sql`select * from ${sql.table(t)} order by 1`.execute(m.db)).rows));
      const before = await rows();
      const live = m.projections.get(p.name);
      if (!live) throw new Error(`no runner for ${p.name}`);
      const result = await rebuildBeside({
        bus: m.bus,
        db: m.db,
        projection: p,
        live,
        deadLetters: pgDeadLetters(m.db),
        logger: createLogger('test', 'silent'),
      });
      expect(result.tables).toEqual([...tables]);
      expect(await rows(), p.name).toEqual(before);
    }
  });
});
