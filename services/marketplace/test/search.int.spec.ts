import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymous, envelope, type Marketplace, startMarketplace, statusOf } from './support/marketplace.ts';

type ListingBody = {
  id: string;
  name: string;
  official: boolean;
  status: string;
  status_reason: string | null;
  categories: string[];
  pricing: string | null;
};
type SearchBody = {
  data: ListingBody[];
  has_more: boolean;
  next_cursor: string | null;
  total: number;
  facets: Record<'category' | 'pricing' | 'official', { value: string; count: number }[]>;
};

let m: Marketplace;
const ids: Record<string, string> = {};

const apps = [
  {
    key: 'leadsync',
    partner: 'prt_techx000000000000000000000',
    name: 'Lead Sync',
    description: 'Keeps leads in step between your CRM and the platform.',
  },
  {
    key: 'leadsyncpro',
    partner: 'prt_techx000000000000000000000',
    name: 'Lead Sync Pro',
    description: 'Everything in Lead Sync plus scoring.',
  },
  {
    key: 'crmbridge',
    partner: 'prt_0therx00000000000000000000',
    name: 'CRM Bridge',
    description: 'Lead sync, lead sync and more lead sync: a bridge that syncs every lead to any CRM.',
  },
  {
    key: 'salesforce',
    partner: 'prt_0therx00000000000000000000',
    name: 'Salesforce Connector',
    description: 'Push policies and claims into Salesforce.',
  },
  {
    key: 'claimbot',
    partner: 'prt_th1rdx00000000000000000000',
    name: 'Claim Bot',
    description: 'Files claims from chat messages automatically.',
  },
  {
    key: 'uptime',
    partner: 'prt_th1rdx00000000000000000000',
    name: 'Uptime Watch',
    description: 'Monitoring for your integrations with alerts.',
  },
];

const search = async (query: Record<string, unknown>) => {
  const r = await m.call('listings.search', anonymous, { query });
  if (!r.ok) throw new Error(JSON.stringify(r.problem));
  return r.body as SearchBody;
};
const names = (b: SearchBody) => b.data.map((l) => l.name);

beforeAll(async () => {
  m = await startMarketplace(testNames('mkts'));
  await m.partner('prt_techx000000000000000000000', 'technology');
  await m.partner('prt_0therx00000000000000000000', 'strategic');
  await m.partner('prt_th1rdx00000000000000000000', 'reseller');
  for (const a of apps) ids[a.key] = await m.publish(a.partner, `app_${a.key}`, a);
  await m.settle();
});
afterAll(async () => {
  await m?.stop();
});

describe('listings follow applications', () => {
  it('creates a listing from application.published with the official badge of a technology partner', async () => {
    const l = await m.ok<ListingBody & Record<string, unknown>>('listings.get', anonymous, { params: { id: ids.leadsync as string } });
    expect(l).toMatchObject({
      name: 'Lead Sync',
      official: true,
      status: 'published',
      partner_name: 'Partner prt_techx000000000000000000000',
    });
    const other = await m.ok<ListingBody>('listings.get', anonymous, { params: { id: ids.crmbridge as string } });
    expect(other.official).toBe(false);
  });

  it('follows deprecated, re-published and retired; a partner turning technology gains the badge', async () => {
    const id = await m.publish('prt_0therx00000000000000000000', 'app_f0770wx0000000000000000000', {
      name: 'Follow Me',
      description: 'first words',
    });
    await m.settle();
    await m.append(
      'application',
      'app_f0770wx0000000000000000000',
      envelope('application.deprecated', {
        application_id: 'app_f0770wx0000000000000000000',
        partner_id: 'prt_0therx00000000000000000000',
        status: 'deprecated',
        reason: 'use CRM Bridge',
      }),
    );
    await m.settle();
    expect(await m.ok('listings.get', anonymous, { params: { id } })).toMatchObject({
      status: 'deprecated',
      status_reason: 'use CRM Bridge',
    });

    await m.publish('prt_0therx00000000000000000000', 'app_f0770wx0000000000000000000', {
      name: 'Follow Me Again',
      description: 'second words',
    });
    await m.append(
      'partner',
      'prt_0therx00000000000000000000',
      envelope('partner.updated', { partner_id: 'prt_0therx00000000000000000000', type: 'technology' }),
    );
    await m.settle();
    expect(await m.ok('listings.get', anonymous, { params: { id } })).toMatchObject({
      name: 'Follow Me Again',
      description: 'second words',
      status: 'published',
      status_reason: null,
      official: true,
    });
    await m.append(
      'partner',
      'prt_0therx00000000000000000000',
      envelope('partner.updated', { partner_id: 'prt_0therx00000000000000000000', type: 'strategic' }),
    );

    await m.append(
      'application',
      'app_f0770wx0000000000000000000',
      envelope('application.retired', {
        application_id: 'app_f0770wx0000000000000000000',
        partner_id: 'prt_0therx00000000000000000000',
        status: 'retired',
        reason: null,
      }),
    );
    await m.settle();
    expect(statusOf(await m.call('listings.get', anonymous, { params: { id } }))).toBe(404);
    expect(names(await search({ q: 'Follow Me Again' }))).not.toContain('Follow Me Again');
    expect((await m.ok<ListingBody>('listings.get', anonymous, { params: { id: ids.crmbridge as string } })).official).toBe(false);
  });
});

describe('search', () => {
  it('ranks the exact name first, above listings that only mention it', async () => {
    const b = await search({ q: 'lead sync' });
    expect(names(b)[0]).toBe('Lead Sync');
    expect(names(b)).toEqual(expect.arrayContaining(['Lead Sync Pro', 'CRM Bridge']));
    expect(names(b)).not.toContain('Uptime Watch');
  });

  it('ranks a name match above a description match (name weighs more)', async () => {
    const b = await search({ q: 'bridge' });
    expect(names(b)[0]).toBe('CRM Bridge');
  });

  it.each([
    ['Salesfroce', 'Salesforce Connector'],
    ['Slesforce connector', 'Salesforce Connector'],
    ['Claim Bto', 'Claim Bot'],
    ['Uptme Watch', 'Uptime Watch'],
  ])('finds a listing despite a typo: %s', async (q, expected) => {
    const b = await search({ q });
    expect(names(b)[0]).toBe(expected);
  });

  it('finds by prefix while typing', async () => {
    expect(names(await search({ q: 'sales' }))).toContain('Salesforce Connector');
    expect(names(await search({ q: 'upti' }))).toContain('Uptime Watch');
    expect(names(await search({ q: 'claim b' }))[0]).toBe('Claim Bot');
  });

  it('understands web search syntax (quoted phrase, exclusion)', async () => {
    expect(names(await search({ q: '"lead sync" scoring' }))).toEqual(['Lead Sync Pro']);
    const b = await search({ q: 'lead -scoring' });
    expect(names(b)).toContain('Lead Sync');
    expect(names(b)).not.toContain('Lead Sync Pro');
  });

  it('answers 422 naming the field for a bad query or cursor, never a 5xx', async () => {
    for (const query of [{ sort: 'loudest' }, { limit: '0' }, { official: 'maybe' }, { cursor: 'not-a-cursor' }, { pricing: 'gratis' }]) {
      const r = await m.call('listings.search', anonymous, { query });
      expect(statusOf(r)).toBe(422);
      expect(JSON.stringify(r.ok ? {} : r.problem)).toContain(Object.keys(query)[0] as string);
    }
  });
});

describe('filters, facets and pages agree with a fold of the data', () => {
  // Listing content (categories, pricing) will come from partner-edited drafts, which are not built yet: the
  // test writes those read-model columns directly so the search query is checked over varied data.
  const content: Record<string, { categories: string[]; pricing: string | null }> = {
    leadsync: { categories: ['leads', 'developer-tools'], pricing: 'free' },
    leadsyncpro: { categories: ['leads'], pricing: 'flat' },
    crmbridge: { categories: ['leads', 'project-management'], pricing: 'usage_based' },
    salesforce: { categories: ['policies', 'claims'], pricing: 'free' },
    claimbot: { categories: ['claims'], pricing: null },
    uptime: { categories: ['monitoring'], pricing: 'free_trial' },
  };
  const official = (key: string) => apps.find((a) => a.key === key)?.partner === 'prt_techx000000000000000000000';

  beforeAll(async () => {
    for (const [key, c] of Object.entries(content)) {
      await m.db
        .updateTable('listings')
        .set({ categories: c.categories, pricing: c.pricing })
        .where('listing_id', '=', ids[key] as string)
        .execute();
    }
  });

  const filters: Record<string, unknown>[] = [
    {},
    { category: 'leads' },
    { category: 'claims' },
    { pricing: 'free' },
    { official: 'true' },
    { official: 'false', category: 'leads' },
    { category: 'claims', pricing: 'free' },
    { category: 'nothing-here' },
  ];

  it.each(filters)('filter %j', async (f) => {
    const expected = Object.keys(content).filter((k) => {
      const c = content[k] as { categories: string[]; pricing: string | null };
      if (f.category && !c.categories.includes(f.category as string)) return false;
      if (f.pricing && c.pricing !== f.pricing) return false;
      if (f.official !== undefined && official(k) !== (f.official === 'true')) return false;
      return true;
    });
    const b = await search({ ...f, limit: '100', sort: 'newest' });
    expect(new Set(b.data.map((l) => l.id))).toEqual(new Set(expected.map((k) => ids[k])));
    expect(b.total).toBe(expected.length);

    const count = (values: string[]) => {
      const out = new Map<string, number>();
      for (const v of values) out.set(v, (out.get(v) ?? 0) + 1);
      return out;
    };
    const asMap = (xs: { value: string; count: number }[]) => new Map(xs.map((x) => [x.value, x.count]));
    expect(asMap(b.facets.category)).toEqual(count(expected.flatMap((k) => content[k]?.categories ?? [])));
    expect(asMap(b.facets.pricing)).toEqual(count(expected.map((k) => content[k]?.pricing ?? 'unspecified')));
    expect(asMap(b.facets.official)).toEqual(count(expected.map((k) => String(official(k)))));
  });

  it('walks every page with the cursor, each listing once, in the sort order', async () => {
    for (const sort of ['newest', 'installs', 'relevance']) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const b: SearchBody = await search({
          sort,
          limit: '2',
          ...(sort === 'relevance' ? { q: 'lead' } : {}),
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...b.data.map((l) => l.id));
        cursor = b.next_cursor;
        expect(b.has_more).toBe(cursor !== null);
        pages++;
      } while (cursor && pages < 20);
      const all = await search({ sort, limit: '100', ...(sort === 'relevance' ? { q: 'lead' } : {}) });
      expect(seen).toEqual(all.data.map((l) => l.id));
      expect(new Set(seen).size).toBe(seen.length);
    }
  });
});
