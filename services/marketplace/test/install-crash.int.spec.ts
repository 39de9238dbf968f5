import type { RpcReply, StoredEvent } from '@pep/contracts';
import { createDb } from '@pep/db';
import { aggregateFilter, aggregateSubject, externalFilter, publishMany } from '@pep/events';
import { rpcCall } from '@pep/service';
import {
  createTestBus,
  dbUrl,
  freePort,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MarketplaceDB } from '../src/db/schema.ts';
import { emptyStats, evolveStats, type ListingStats } from '../src/domain/listing/trending.ts';
import { INSTALLS_PROJECTION } from '../src/projections/installs/index.ts';
import { SERVICE_NAME } from '../src/service.ts';
import { admin, envelope, readAll } from './support/marketplace.ts';

/**
 * Issue 13's crash case: the marketplace process is killed (SIGKILL) during a burst of 5,000 installs sent through
 * its own install command, then started again. Installs that got no answer are sent again (installing is
 * idempotent). Afterwards the counts and trending weights equal a fold of the stream, every customer has
 * exactly one install, and the integration worker published exactly one `integration.connected` per install.
 */
const names = testNames('mktcrash');
const INSTALLS = 5_000;
const UNINSTALLS = 500;
const CONCURRENCY = 48;
const PARTNER = 'prt_crashx0000000000000000000';
const APPS = ['app_crash0x000000000000000000', 'app_crash1x000000000000000000', 'app_crash2x000000000000000000'];
const listingOf = (app: string) => `lst_${app.slice(4)}`;

let t: Awaited<ReturnType<typeof createTestBus>>;
let db: ReturnType<typeof createDb<MarketplaceDB>>;
let proc: ServiceProcess | undefined;

const start = async () => {
  const port = await freePort();
  const p = spawnService(SERVICE_NAME, serviceEnv(names, { HEALTH_PORT: String(port) }));
  await waitReady(`http://127.0.0.1:${port}/readyz`, p);
  return p;
};
const call = (pattern: string, req: { params: Record<string, string>; body?: unknown }) =>
  rpcCall(t.bus.nc, `${names.RPC_PREFIX}.${SERVICE_NAME}.${pattern}`, { principal: admin, ...req }, 10_000);
const checkpoint = async () =>
  Number(
    (await db.selectFrom('projection_checkpoints').select('seq').where('name', '=', INSTALLS_PROJECTION).executeTakeFirst())?.seq ?? 0,
  );

/** Runs `jobs` with a fixed number in flight; returns the ones that got no successful answer. */
async function runAll<T>(jobs: T[], fn: (job: T) => Promise<RpcReply>): Promise<T[]> {
  const failed: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++] as T;
        // No answer (the process was killed: the request times out) or a refusal: this job is sent again.
        const r = await fn(job).then(
          (reply) => reply,
          (err: unknown) => ({ ok: false as const, err }),
        );
        if (!r.ok) failed.push(job);
      }
    }),
  );
  return failed;
}

beforeAll(async () => {
  t = await createTestBus(names, [SERVICE_NAME]);
  const P = names.SUBJECT_PREFIX;
  await publishMany(t.bus, [
    {
      subject: aggregateSubject(P, 'partner', PARTNER),
      event: envelope('partner.created', {
        partner_id: PARTNER,
        name: 'Crash',
        type: 'technology',
        contact_email: 'c@x.test',
        tier: 'standard',
      }),
    },
    ...APPS.map((app, i) => ({
      subject: aggregateSubject(P, 'application', app),
      event: envelope(
        'application.published',
        {
          application_id: app,
          partner_id: PARTNER,
          status: 'published',
          name: `Crash App ${i}`,
          description: 'Installed in a burst.',
          redirect_uris: [],
          scopes: [],
          webhook_url: null,
          health_url: null,
          privacy_url: null,
          terms_url: null,
          published_at: new Date().toISOString(),
        },
        PARTNER,
      ),
    })),
  ]);
  proc = await start();
  db = createDb<MarketplaceDB>(dbUrl(names, SERVICE_NAME), { max: 2 });
  await waitUntil(async () => (await db.selectFrom('listings').select('listing_id').execute()).length === APPS.length, {
    what: 'the listings',
  });
});
afterAll(async () => {
  await proc?.stop();
  await db?.destroy();
  await t?.cleanup();
});

describe('installs under kill -9', () => {
  it('counts, trending and integration events equal a fold of the stream after a crash mid-burst', { timeout: 300_000 }, async () => {
    const jobs = Array.from({ length: INSTALLS }, (_, i) => ({
      listing: listingOf(APPS[i % APPS.length] as string),
      customer: `cus_${i}`,
    }));
    const install = (j: (typeof jobs)[number]) => call('installs.create', { params: { id: j.listing }, body: { customer_id: j.customer } });

    // Kill the process once a third of the burst has been answered, with requests still in flight.
    let answered = 0;
    let killed: Promise<number | null> | undefined;
    const first = await runAll(jobs, async (j) => {
      const r = await install(j);
      if (r.ok && ++answered === Math.floor(INSTALLS / 3) && proc) {
        proc.child.kill('SIGKILL');
        killed = proc.exited;
      }
      return r;
    });
    expect(await killed).toBe(-1);
    console.info(`marketplace killed after ${answered} answered installs; ${first.length} unanswered, checkpoint ${await checkpoint()}`);
    expect(first.length).toBeGreaterThan(0);

    proc = await start();
    expect(await runAll(first, install)).toEqual([]);
    const gone = jobs.filter((_, i) => i % (INSTALLS / UNINSTALLS) === 0);
    expect(await runAll(gone, (j) => call('installs.delete', { params: { id: j.listing, customer_id: j.customer } }))).toEqual([]);

    const installEvents = await readAll(t.bus, aggregateFilter(names.SUBJECT_PREFIX, 'install'));
    const last = Math.max(...installEvents.map((e) => e.seq));
    await waitUntil(async () => (await checkpoint()) >= last, { timeoutMs: 120_000, what: 'the installs projection to catch up' });

    // One install per customer, although some installs were sent twice (before and after the crash).
    const created = installEvents.filter((e) => e.type === 'install.created');
    expect(created).toHaveLength(INSTALLS);
    expect(new Set(created.map((e) => (e.data as { customer_id: string }).customer_id)).size).toBe(INSTALLS);
    expect(installEvents.filter((e) => e.type === 'install.removed')).toHaveLength(UNINSTALLS);

    const fold = new Map<string, ListingStats>();
    for (const e of installEvents) {
      const id = (e.data as { listing_id: string }).listing_id;
      fold.set(id, evolveStats(fold.get(id) ?? emptyStats(), e));
    }
    const rows = await db.selectFrom('listing_stats').select(['listing_id', 'active_installs', 'total_installs', 'trend_weight']).execute();
    expect(new Map(rows.map(({ listing_id, ...s }) => [listing_id, s]))).toEqual(fold);
    const active = await db.selectFrom('installs').select('listing_id').where('active', '=', true).execute();
    expect(active).toHaveLength(INSTALLS - UNINSTALLS);

    // The integration worker resumed after the crash and published each business event once.
    const business = await waitUntil(
      async () => {
        const all = await readAll(t.bus, externalFilter(names.SUBJECT_PREFIX));
        return all.length >= INSTALLS + UNINSTALLS ? all : undefined;
      },
      { timeoutMs: 120_000, what: 'the integration events' },
    );
    const causes = (type: string) => new Set(business.filter((e: StoredEvent) => e.type === type).map((e) => e.causationid));
    expect(business).toHaveLength(INSTALLS + UNINSTALLS);
    expect(causes('integration.connected')).toEqual(new Set(created.map((e) => e.id)));
    expect(causes('integration.disconnected').size).toBe(UNINSTALLS);
  });
});
