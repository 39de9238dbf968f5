// bench/marketplace/explain.ts (`node --import tsx bench/marketplace/explain.ts`): the search SQL on its own.
//  Fills a fresh marketplace database through the catalog projection's own apply (BENCH_LISTINGS listings, no
//  stream, no services), adds install and rating rows, then for each kind of query (exact, typo, filtered,
//  faceted prefix) prints EXPLAIN ANALYZE of the statement searchListings runs and its mean / p99 time over
//  sequential runs. It shows which indexes the plan uses (the typo correction's trigram GiST nearest-neighbour
//  scan, the full-text GIN bitmap scan) and what one search costs without concurrency or the gateway.
import type { StoredEvent } from '@pep/contracts';
import { createDb, dropDatabase, ensureDatabase, migrateToLatest } from '@pep/db';
import { dbUrl, testNames } from '@pep/testing';
import { SearchListingsQuery } from '@pep/contracts';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import { marketplaceMigrations } from '../../services/marketplace/src/db/migrations/index.ts';
import type { MarketplaceDB } from '../../services/marketplace/src/db/schema.ts';
import { SEED_CATEGORIES } from '../../services/marketplace/src/domain/category/category.ts';
import { catalogProjection } from '../../services/marketplace/src/projections/catalog/index.ts';
import { searchListings, searchStatement } from '../../services/marketplace/src/projections/catalog/search.ts';
import { A, B, C, nameOf, rng } from './data.ts';

const LISTINGS = Number(process.env.BENCH_LISTINGS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 50);

let seq = 0;
const ev = (type: string, data: unknown): StoredEvent => ({
  specversion: '1.0',
  id: `evt_${++seq}`,
  source: 'urn:bench',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 2,
  data,
  seq,
  subject_name: 'bench',
});

async function main() {
  // BENCH_KEEP_DB=<name>: keep the database under that name and reuse it when it is filled already
  const keep = process.env.BENCH_KEEP_DB;
  const names = keep ? { ...testNames('mktexplain'), DB_PREFIX: `${keep}_` } : testNames('mktexplain');
  const url = dbUrl(names, 'marketplace');
  await ensureDatabase(url);
  const db = createDb<MarketplaceDB>(url, { max: 2 });
  try {
    await migrateToLatest(db, marketplaceMigrations);
    const filled = (await db.selectFrom('listings').select(sql<number>`count(*)::int`.as('n')).executeTakeFirst())?.n ?? 0;
    if (filled === 0) await fill(db, names.SUBJECT_PREFIX);
    const r = rng(7);
    const words = (await db.selectFrom('search_words').select(sql<number>`count(*)::int`.as('n')).executeTakeFirst())?.n;
    console.log(`${filled || LISTINGS} listings; ${words} dictionary words`);

    const i = Math.floor(r() * LISTINGS);
    const name = nameOf(i);
    const typo = name.replace(/([a-z])([a-z])([a-z]*)$/, (_, a: string, b: string, rest: string) => `${b}${a}${rest}`);
    const cases: [string, Record<string, string>][] = [
      ['exact name', { q: name }],
      ['typo (two letters swapped)', { q: typo }],
      [
        'filtered (category, pricing, min_rating, sort=rating)',
        { category: 'monitoring', pricing: 'flat', min_rating: '3', sort: 'rating' },
      ],
      ['faceted prefix', { q: `${B[3]} ${(C[3] as string).slice(0, 3)}`, category: 'monitoring' }],
    ];
    for (const [label, q] of cases) {
      const input = SearchListingsQuery.parse(q);
      const first = await searchListings(db, input);
      const times: number[] = [];
      for (let n = 0; n < RUNS; n++) {
        const t = performance.now();
        await searchListings(db, input);
        times.push(performance.now() - t);
      }
      times.sort((a, b) => a - b);
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      console.log(
        `\n== ${label}: ${JSON.stringify(q)} → total ${first.total}, first "${first.rows[0]?.name}"; mean ${mean.toFixed(2)} ms, p99 ${(times[Math.floor(times.length * 0.99)] ?? 0).toFixed(2)} ms`,
      );
      const c = searchStatement(input).compile(db);
      const plan = await db.executeQuery<{ 'QUERY PLAN': string }>(
        CompiledQuery.raw(`explain (analyze, costs off, timing off, summary on) ${c.sql}`, [...c.parameters]),
      );
      for (const row of plan.rows) {
        const line = row['QUERY PLAN'];
        if (/Index|Bitmap|Seq Scan|Execution Time|Planning Time/.test(line)) console.log(line);
      }
    }
  } finally {
    await db.destroy();
    if (!keep) await dropDatabase(url).catch((err: unknown) => console.error('dropping the database failed', err));
  }
}

/** The bench catalog through the catalog projection's own apply, then install and rating rows. */
async function fill(db: Kysely<MarketplaceDB>, prefix: string) {
  const projection = catalogProjection(prefix);
  const partners = Array.from({ length: 100 }, (_, i) => `prt_bench${i}`);
  const events: StoredEvent[] = partners.map((p, i) =>
    ev('partner.created', { partner_id: p, name: `Bench Partner ${i}`, type: i % 4 === 0 ? 'technology' : 'strategic' }),
  );
  for (let i = 0; i < LISTINGS; i++) {
    const name = nameOf(i);
    const model = (['free', 'flat', 'usage_based'] as const)[i % 3];
    events.push(
      ev('application.published', {
        application_id: `app_bench${i}`,
        partner_id: partners[i % 100],
        status: 'published',
        name,
        description: `${name} connects your ${B[i % 20]} data.`,
        redirect_uris: [],
        scopes: [],
        webhook_url: null,
        health_url: null,
        privacy_url: 'https://example.com/privacy',
        terms_url: 'https://example.com/terms',
        tagline: `The ${A[(i * 7) % 25]} way to ${B[(i * 3) % 20]} ${C[(i * 11) % 20]}s`,
        long_description: `${name} helps teams with ${B[i % 20]} and ${B[(i + 5) % 20]} work. `.repeat(4),
        logo_url: null,
        screenshots: [],
        categories: [SEED_CATEGORIES[i % SEED_CATEGORIES.length]?.slug],
        support_email: null,
        documentation_url: null,
        pricing_plans: [
          { name: 'Plan', model, amount: model === 'free' ? 0 : 1000, currency: 'USD', interval: null, unit: null, trial_days: 0 },
        ],
        published_at: new Date(Date.now() - (i % 365) * 86_400_000).toISOString(),
      }),
    );
  }
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += 500) await db.transaction().execute((trx) => projection.apply(trx, events.slice(i, i + 500)));
  console.log(`filled through the catalog projection in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await sql`insert into listing_stats (listing_id, active_installs, total_installs, trend_weight, updated_seq)
            select listing_id, (random() * 100)::int, (random() * 120)::int, random() * 50, 0 from listings`.execute(db);
  await sql`insert into listing_ratings (listing_id, review_count, rating_sum, r1, r2, r3, r4, r5)
            select listing_id, 4, 4 + (random() * 16)::int, 1, 0, 1, 1, 1 from listings where random() < 0.6`.execute(db);
  await sql`insert into rating_totals (id, review_count, rating_sum)
            select 1, sum(review_count), sum(rating_sum) from listing_ratings
            on conflict (id) do update set review_count = excluded.review_count, rating_sum = excluded.rating_sum`.execute(db);
  await sql`analyze`.execute(db);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
