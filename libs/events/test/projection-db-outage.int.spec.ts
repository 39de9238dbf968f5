import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { PlatformEvent, StoredEvent } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import { createLogger, newId } from '@pep/runtime';
import { createTestBus, dbUrl, freePort, testNames, waitUntil } from '@pep/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateSubject, pgDeadLetters, publishEvent, startProjection } from '../src/index.ts';

/**
 * The database going away (here: a loopback TCP proxy in front of the machine's Postgres, cut and restored, so
 * the shared server is never touched) must not end the process (pool 'error' events are handled) nor make a
 * projection dead-letter events it simply could not write: it reports `unavailable`, then catches up by itself.
 */
const names = testNames('pdo');
const logger = createLogger('test', 'silent');
let t: Awaited<ReturnType<typeof createTestBus>>;
let db: Kysely<PlatformTables & { tally: { id: string; n: number } }>;
let proxy: Server | undefined;
let proxyPort: number;
const sockets = new Set<Socket>();
let poolErrors = 0;

function openProxy(): Promise<void> {
  proxy = createServer((client) => {
    const upstream = tcpConnect(5432, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => proxy?.listen(proxyPort, '127.0.0.1', () => resolve()));
}

/** Like `pg_ctl stop -m immediate` seen from the client: every connection drops, new ones are refused. */
async function cutProxy(): Promise<void> {
  await new Promise<void>((resolve) => {
    proxy?.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
}

const ev = (i: number): PlatformEvent => ({
  specversion: '1.0',
  id: newId('evt'),
  source: 'test',
  type: 'tally.added',
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data: { i },
});

beforeAll(async () => {
  t = await createTestBus(names, ['outage']);
  const direct = dbUrl(names, 'outage');
  await ensureDatabase(direct);
  proxyPort = await freePort();
  await openProxy();
  const viaProxy = new URL(direct);
  viaProxy.port = String(proxyPort);
  db = createDb(viaProxy.toString(), { connectionTimeoutMs: 1000, onError: () => poolErrors++ });
  await migrateToLatest(db, {
    '1700000000000-Tally': {
      up: async (d) => {
        await d.schema
          .createTable('tally')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('n', 'integer', (c) => c.notNull())
          .execute();
      },
      down: async (d) => {
        await d.schema.dropTable('tally').execute();
      },
    },
  });
});

afterAll(async () => {
  await db?.destroy().catch(() => undefined);
  await cutProxy().catch(() => undefined);
  await t?.cleanup();
});

describe('projection while its database is away', () => {
  it('reports unavailable, dead-letters nothing, and catches up once the database is back', async () => {
    const runner = await startProjection({
      bus: t.bus,
      db,
      projection: {
        name: 'tally',
        filterSubject: `${names.SUBJECT_PREFIX}.agg.tally.>`,
        async apply(trx, events: StoredEvent[]) {
          for (const _e of events) {
            await (trx as unknown as typeof db)
              .insertInto('tally')
              .values({ id: 'total', n: 1 })
              .onConflict((oc) => oc.column('id').doUpdateSet({ n: sql`tally.n + 1` }))
              .execute();
          }
        },
        async reset(trx) {
          await trx.deleteFrom('tally' as never).execute();
        },
      },
      deadLetters: pgDeadLetters(db),
      logger,
      maxAttempts: 2,
    });
    try {
      const subject = aggregateSubject(names.SUBJECT_PREFIX, 'tally', 'a');
      let last = 0;
      for (let i = 0; i < 20; i++) last = (await publishEvent(t.bus, subject, ev(i))).seq;
      await runner.waitFor(last, 20_000);

      await cutProxy();
      for (let i = 20; i < 60; i++) last = (await publishEvent(t.bus, subject, ev(i))).seq;
      const away = await waitUntil(
        async () => {
          const s = await runner.status();
          return s.state === 'unavailable' ? s : undefined;
        },
        { timeoutMs: 15_000, what: 'the projection to report the database unavailable' },
      );
      expect(away.reason).toMatch(/database unavailable/);
      // Stay away long enough for several apply attempts and loop restarts.
      await new Promise((r) => setTimeout(r, 2500));

      await openProxy();
      await runner.waitFor(last, 20_000);
      const row = await db.selectFrom('tally').selectAll().executeTakeFirstOrThrow();
      expect(row.n).toBe(60);
      expect(await pgDeadLetters(db).list({ consumer: 'projection:tally' })).toEqual([]);
      await waitUntil(async () => ((await runner.status()).state === 'ok' ? true : undefined), { timeoutMs: 10_000, what: 'state ok' });
      process.stdout.write(`projection-db-outage: pool errors reported (not thrown): ${poolErrors}; state while away: ${away.reason}\n`);
    } finally {
      await runner.stop();
    }
  });
});
