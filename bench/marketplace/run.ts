// bench/marketplace (`npm run bench:marketplace`): marketplace search latency and throughput.
//  Loads a catalog through the stream (partners, application.published, listing.published with categories and
//  pricing, install.created, review.submitted: BENCH_LISTINGS, BENCH_INSTALLS, BENCH_REVIEWS), waits for the
//  marketplace's projections, then runs a mixed set of searches (exact name, typo, filtered, faceted as-you-type)
//  (a) through the gateway as anonymous public reads (per-address rate limiter on, with a limit it never reaches),
//  (b) the same SQL (searchListings + the marketplace mean, what the handler runs) straight against Postgres with the
//      service's pool size and the same concurrency, and
//  (c) a naive baseline: `name ilike '%q%' or description ilike '%q%'` on the same data, no ranking or facets.
// Ends with one JSON line: search_rps, search_p50_ms, search_p99_ms, sql_rps, sql_p99_ms, ratio (search/sql p99), ...
import { randomBytes } from 'node:crypto';
import { SearchListingsQuery } from '@pep/contracts';
import { createDb, dropDatabase } from '@pep/db';
import { aggregateSubject, closeBus, connectBus, ensureStream, publishMany, StreamSettingsSchema } from '@pep/events';
import { newId } from '@pep/runtime';
import { dbUrl, freePort, serviceEnv, spawnService, testNames, waitReady, waitUntil } from '@pep/testing';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import type { MarketplaceDB } from '../../services/marketplace/src/db/schema.ts';
import { SEED_CATEGORIES } from '../../services/marketplace/src/domain/category/category.ts';
import { installKey } from '../../services/marketplace/src/domain/install/install.ts';
import { reviewIdFor } from '../../services/marketplace/src/domain/review/review.ts';
import { searchListings } from '../../services/marketplace/src/projections/catalog/search.ts';
import { marketplaceMeanRating } from '../../services/marketplace/src/projections/reviews/index.ts';
import { A, B, C, nameOf, rng } from './data.ts';

const LISTINGS = Number(process.env.BENCH_LISTINGS ?? 10_000);
const INSTALLS = Number(process.env.BENCH_INSTALLS ?? 100_000);
const REVIEWS = Number(process.env.BENCH_REVIEWS ?? 20_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const POOL = 10; // the service's pool (libs/db createDb default)
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const envelope = (type: string, data: unknown, partnerid: string, time = new Date().toISOString()) => ({
  specversion: '1.0' as const,
  id: newId('evt'),
  source: 'urn:bench',
  type,
  time,
  datacontenttype: 'application/json' as const,
  schemaversion: 1,
  data,
  partnerid,
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Runs `fn` from `concurrency` loops for `seconds`; latencies in ms. */
async function direct(
  concurrency: number,
  seconds: number,
  queries: Record<string, string>[],
  fn: (q: Record<string, string>) => Promise<unknown>,
) {
  const lat: number[] = [];
  const end = Date.now() + seconds * 1000;
  let n = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      let i = w;
      while (Date.now() < end) {
        const q = queries[i++ % queries.length] as Record<string, string>;
        const t = performance.now();
        try {
          await fn(q);
          lat.push(performance.now() - t);
          n++;
        } catch (err) {
          // e.g. the pool's connect timeout when queries are slower than the queue drains: counted, not fatal
          if (errors++ === 0) console.error('bench: a direct query failed (counted in errors)', err);
        }
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { rps: n / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99), errors };
}

async function main() {
  console.log(
    `bench/marketplace: ${LISTINGS} listings, ${INSTALLS} installs, ${REVIEWS} reviews; ${CONNECTIONS} connections, ${DURATION_S} s per case (+${WARMUP_S} s warm-up); node ${process.version}`,
  );
  const names = testNames('benchmkt');
  const P = names.SUBJECT_PREFIX;
  const bus = await connectBus({ url: NATS_URL, name: 'bench-marketplace', stream: names.STREAM_NAME, prefix: P });
  await ensureStream(bus.jsm, StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: P, STREAM_MAX_AGE_HOURS: '1' }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = serviceEnv(names, { LOG_LEVEL: 'warn', NODE_ENV: 'production', STREAM_MAX_AGE_HOURS: '1' });
  const health = await freePort();
  const marketplace = spawnService('marketplace', { ...env, HEALTH_PORT: String(health) });
  const gateway = spawnService('gateway', {
    ...env,
    GATEWAY_PORT: String(port),
    PLATFORM_ADMIN_API_KEY: `sk_admin_${randomBytes(18).toString('hex')}`,
    // The per-address limiter runs on every anonymous search but never refuses one here: its cost is measured.
    RATE_LIMIT_PUBLIC_PER_MIN: '1000000000',
  });
  const db = createDb<MarketplaceDB>(dbUrl(names, 'marketplace'), { max: POOL });
  try {
    await Promise.all([waitReady(`http://127.0.0.1:${health}/readyz`, marketplace), waitReady(`${url}/readyz`, gateway)]);

    // The catalog, through the stream as the registry and the marketplace would append it.
    const r = rng(20261201);
    const partners = Array.from({ length: 100 }, (_, i) => `prt_bench${String(i).padStart(3, '0')}${'x'.repeat(18)}`);
    const apps = Array.from({ length: LISTINGS }, (_, i) => `app_bench${String(i).padStart(6, '0')}${'x'.repeat(15)}`);
    const listingOf = (app: string) => `lst_${app.slice(4)}`;
    const partnerOf = (i: number) => partners[i % partners.length] as string;
    const t0 = Date.now();
    const items: Parameters<typeof publishMany>[1] = partners.map((p, i) => ({
      subject: aggregateSubject(P, 'partner', p),
      event: envelope(
        'partner.created',
        {
          partner_id: p,
          name: `Bench Partner ${i}`,
          type: i % 4 === 0 ? 'technology' : 'strategic',
          contact_email: 'b@x.test',
          tier: 'standard',
        },
        p,
      ),
    }));
    apps.forEach((app, i) => {
      const p = partnerOf(i);
      const name = nameOf(i);
      items.push({
        subject: aggregateSubject(P, 'application', app),
        event: envelope(
          'application.published',
          {
            application_id: app,
            partner_id: p,
            status: 'published',
            name,
            description: `${name} connects your ${B[i % 20]} data.`,
            redirect_uris: [],
            scopes: [],
            webhook_url: null,
            health_url: null,
            privacy_url: null,
            terms_url: null,
            published_at: new Date(t0 - (i % 365) * 86_400_000).toISOString(),
          },
          p,
        ),
      });
      const model = (['free', 'flat', 'usage_based'] as const)[i % 3];
      const content = {
        tagline: `The ${A[(i * 7) % 25]} way to ${B[(i * 3) % 20]} ${C[(i * 11) % 20]}s`,
        description: `${name} helps teams with ${B[i % 20]} and ${B[(i + 5) % 20]} work. `.repeat(4),
        logo_url: 'https://cdn.example.com/logo.png',
        screenshots: ['https://cdn.example.com/1.png', 'https://cdn.example.com/2.png', 'https://cdn.example.com/3.png'],
        categories: [SEED_CATEGORIES[i % SEED_CATEGORIES.length]?.slug as string],
        support_email: 'help@example.com',
        documentation_url: null,
        privacy_url: 'https://example.com/privacy',
        terms_url: 'https://example.com/terms',
        pricing_plans: [
          {
            name: 'Plan',
            model,
            amount: model === 'free' ? 0 : 1000,
            currency: 'USD',
            interval: model === 'flat' ? 'month' : null,
            unit: null,
            trial_days: i % 10 === 0 ? 14 : 0,
          },
        ],
      };
      items.push({
        subject: aggregateSubject(P, 'listing', listingOf(app)),
        event: envelope(
          'listing.published',
          {
            listing_id: listingOf(app),
            application_id: app,
            partner_id: p,
            content,
            published_by: 'bench',
            published_at: new Date().toISOString(),
          },
          p,
        ),
      });
    });
    // Installs skewed towards the first listings (popular ones), spread over 60 days (trending).
    const installed: [number, string][] = [];
    for (let n = 0; n < INSTALLS; n++) {
      const i = Math.min(LISTINGS - 1, Math.floor(LISTINGS * r() ** 3));
      const customer = `cus_${n}`;
      const app = apps[i] as string;
      const listing = listingOf(app);
      installed.push([i, customer]);
      items.push({
        subject: aggregateSubject(P, 'install', installKey(listing, customer)),
        event: envelope(
          'install.created',
          {
            install_id: newId('ins'),
            listing_id: listing,
            application_id: app,
            partner_id: partnerOf(i),
            customer_id: customer,
            installed_at: new Date(t0 - Math.floor(r() * 60 * 86_400_000)).toISOString(),
            installed_by: 'bench',
          },
          partnerOf(i),
        ),
      });
    }
    for (let n = 0; n < Math.min(REVIEWS, installed.length); n++) {
      const [i, customer] = installed[n] as [number, string];
      const listing = listingOf(apps[i] as string);
      const ref = { review_id: reviewIdFor(listing, customer), listing_id: listing, partner_id: partnerOf(i), customer_id: customer };
      items.push({
        subject: aggregateSubject(P, 'review', installKey(listing, customer)),
        event: envelope(
          'review.submitted',
          { ...ref, rating: 1 + Math.floor(r() ** 0.5 * 5), body: 'Bench review', submitted_at: new Date().toISOString() },
          partnerOf(i),
        ),
      });
    }
    for (let i = 0; i < items.length; i += 1000) await publishMany(bus, items.slice(i, i + 1000));
    const lastSeq = (await bus.jsm.streams.info(bus.stream)).state.last_seq;
    console.log(`loaded ${items.length} events through the stream in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await waitUntil(
      async () =>
        (await db.selectFrom('listing_stats').select(sql<number>`sum(total_installs)::int`.as('n')).executeTakeFirst())?.n === INSTALLS,
      {
        timeoutMs: 900_000,
        intervalMs: 1000,
        what: 'the installs projection',
      },
    );
    await waitUntil(
      async () =>
        (
          await db
            .selectFrom('listings')
            .select(sql<number>`count(*)::int`.as('n'))
            .where('content_published_at', 'is not', null)
            .executeTakeFirst()
        )?.n === LISTINGS,
      {
        timeoutMs: 900_000,
        intervalMs: 1000,
        what: 'the catalog',
      },
    );
    // Let the integration worker (integration.connected per install) finish so it does not share the measurement.
    let prev = -1;
    await waitUntil(
      async () => {
        const now = (await bus.jsm.streams.info(bus.stream)).state.last_seq;
        const still = now === prev;
        prev = now;
        return still;
      },
      { timeoutMs: 900_000, intervalMs: 3000, what: 'the stream to go quiet' },
    );
    console.log(`projections caught up (${lastSeq} events of the catalog) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await sql`analyze`.execute(db);

    // The mixed query set: exact names, typos (two letters swapped), filtered, faceted prefixes.
    const queries: Record<string, string>[] = [];
    for (let k = 0; k < 200; k++) {
      const i = Math.floor(r() * LISTINGS);
      const name = nameOf(i);
      const typo = name.replace(/([a-z])([a-z])([a-z]*)$/, (_, a: string, b: string, rest: string) => `${b}${a}${rest}`);
      const cat = SEED_CATEGORIES[k % SEED_CATEGORIES.length]?.slug as string;
      const kind = k % 4;
      if (kind === 0) queries.push({ q: name });
      else if (kind === 1) queries.push({ q: typo });
      else if (kind === 2) queries.push({ category: cat, pricing: 'flat', min_rating: '3', sort: 'rating' });
      else queries.push({ q: `${B[k % 20]} ${(C[k % 20] as string).slice(0, 3)}`, category: cat });
    }
    const paths = queries.map((q) => `/v1/marketplace/listings?${new URLSearchParams(q).toString()}`);
    const sanity = await (await fetch(`${url}${paths[1]}`)).json();
    console.log(`typo query "${queries[1]?.q}" → first hit "${(sanity as { data: { name: string }[] }).data[0]?.name}"`);

    const http = async (seconds: number) => {
      const res = await autocannon({
        url,
        connections: CONNECTIONS,
        duration: seconds,
        requests: paths.map((path) => ({ method: 'GET', path })),
      });
      return { rps: res.requests.average, p50: res.latency.p50, p99: res.latency.p99, non2xx: res.non2xx, errors: res.errors };
    };
    const parsed = queries.map((q) => SearchListingsQuery.parse(q));
    const asSql = (q: Record<string, string>) =>
      Promise.all([searchListings(db, parsed[queries.indexOf(q)] ?? SearchListingsQuery.parse(q)), marketplaceMeanRating(db)]);
    const ilike = (q: Record<string, string>) => {
      const term = `%${q.q ?? q.category ?? ''}%`;
      return db
        .selectFrom('listings')
        .selectAll()
        .where((eb) => eb.or([eb('name', 'ilike', term), eb('description', 'ilike', term)]))
        .limit(20)
        .execute();
    };

    if (WARMUP_S > 0) {
      await http(WARMUP_S);
      await direct(CONNECTIONS, WARMUP_S, queries, asSql);
    }
    const line = (name: string, f: { rps: number; p50: number; p99: number }) =>
      console.log(
        `${name.padEnd(34)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(1).padStart(6)} ms  p99 ${f.p99.toFixed(1).padStart(6)} ms`,
      );
    const search = await http(DURATION_S);
    line('(a) search through the gateway', search);
    const direct64 = await direct(CONNECTIONS, DURATION_S, queries, asSql);
    line('(b) the same SQL straight to pg', direct64);
    const naive = await direct(CONNECTIONS, DURATION_S, queries, ilike);
    line('(c) ILIKE baseline (no rank/facets)', naive);
    console.log(
      JSON.stringify({
        bench: 'marketplace',
        listings: LISTINGS,
        installs: INSTALLS,
        reviews: REVIEWS,
        connections: CONNECTIONS,
        duration_s: DURATION_S,
        search_rps: Math.round(search.rps),
        search_p50_ms: search.p50,
        search_p99_ms: search.p99,
        sql_rps: Math.round(direct64.rps),
        sql_p50_ms: Number(direct64.p50.toFixed(1)),
        sql_p99_ms: Number(direct64.p99.toFixed(1)),
        ratio: Number((search.p99 / Math.max(direct64.p99, 0.001)).toFixed(2)),
        ilike_rps: Math.round(naive.rps),
        ilike_p99_ms: Number(naive.p99.toFixed(1)),
        sql_errors: direct64.errors,
        non2xx: search.non2xx,
        errors: search.errors,
        floors: { search_p99_ms_max: 50 },
      }),
    );
  } finally {
    await gateway.stop('SIGTERM');
    await marketplace.stop('SIGTERM');
    await db.destroy();
    const cleanupFailed = (what: string) => (err: unknown) => console.error(`bench cleanup: ${what} failed`, err);
    await bus.jsm.streams.delete(names.STREAM_NAME).catch(cleanupFailed('deleting the stream'));
    await closeBus(bus);
    for (const s of ['gateway', 'marketplace']) await dropDatabase(dbUrl(names, s)).catch(cleanupFailed(`dropping ${s}'s database`));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
