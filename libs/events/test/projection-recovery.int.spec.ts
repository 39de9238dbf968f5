import type { PlatformEvent, StoredEvent } from '@pep/contracts';
import { createDb, dropDatabase, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import { createLogger, newId } from '@pep/runtime';
import { dbUrl, type NatsServer, natsServer, testNames, waitJetStream, waitUntil } from '@pep/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aggregateSubject,
  connectBus,
  type EventBus,
  ensureStream,
  pgDeadLetters,
  publishEvent,
  StreamSettingsSchema,
  startProjection,
  startWorker,
} from '../src/index.ts';

/**
 * A projection survives its broker being killed and restarted: this test runs its OWN nats-server (never the
 * machine's), kills it with SIGKILL mid-stream, starts it again on the same port and store, publishes more, and
 * the projection catches up by itself (nats-server 2.9's ordered consumers otherwise sit ~45 s).
 */
const names = testNames('prr');
const logger = createLogger('test', 'silent');
let nats: NatsServer | undefined;
let bus: EventBus;
let db: Kysely<PlatformTables & { tally: { id: string; n: number; last_seq: number } }>;

/** Starts (or restarts, same port and store) the test's own nats-server and waits for JetStream. */
async function startNats(): Promise<NatsServer> {
  if (!nats) nats = await natsServer();
  else await nats.start();
  await waitJetStream(nats.url, 15_000);
  return nats;
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

async function publishMany(from: number, count: number): Promise<number> {
  let last = 0;
  for (let i = from; i < from + count; i++) {
    const r = await publishEvent(bus, aggregateSubject(names.SUBJECT_PREFIX, 'tally', `a${i % 7}`), ev(i));
    last = r.seq;
  }
  return last;
}

beforeAll(async () => {
  const server = await startNats();
  bus = await connectBus({
    url: server.url,
    name: 'projection-recovery',
    stream: names.STREAM_NAME,
    prefix: names.SUBJECT_PREFIX,
  });
  await ensureStream(bus.jsm, StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX }));
  const url = dbUrl(names, 'recovery');
  await ensureDatabase(url);
  db = createDb(url);
  await migrateToLatest(db, {
    '1700000000000-Tally': {
      up: async (d) => {
        await d.schema
          .createTable('tally')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('n', 'integer', (c) => c.notNull())
          .addColumn('last_seq', 'bigint', (c) => c.notNull())
          .execute();
      },
      down: async (d) => {
        await d.schema.dropTable('tally').execute();
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await bus?.nc.close().catch(() => undefined);
  await db?.destroy();
  await nats?.destroy();
  await dropDatabase(dbUrl(names, 'recovery')).catch(() => undefined);
});

describe('projection after a broker restart', () => {
  it('recreates its consumer from the checkpoint and catches up without waiting for heartbeats', async () => {
    const recreations: string[] = [];
    const t0 = Date.now();
    const runner = await startProjection({
      bus,
      db,
      projection: {
        name: 'tally',
        filterSubject: `${names.SUBJECT_PREFIX}.agg.tally.>`,
        async apply(trx, events: StoredEvent[]) {
          for (const e of events) {
            await (trx as unknown as typeof db)
              .insertInto('tally')
              .values({ id: 'total', n: 1, last_seq: e.seq })
              .onConflict((oc) => oc.column('id').doUpdateSet({ n: sql`tally.n + 1`, last_seq: e.seq }))
              .execute();
          }
        },
        async reset(trx) {
          await trx.deleteFrom('tally' as never).execute();
        },
      },
      deadLetters: pgDeadLetters(db),
      logger,
      onRecreate: (reason) => recreations.push(`${reason}@${Date.now() - t0}ms`),
    });
    try {
      const before = await publishMany(0, 200);
      await runner.waitFor(before, 20_000);

      await nats?.kill('SIGKILL');
      const killedAt = Date.now();
      await startNats();
      const backAt = Date.now();
      // The client reconnects on its own (reconnectTimeWait 500 ms); publish once it has.
      await waitUntil(async () => (await bus.jsm.streams.info(names.STREAM_NAME).then(() => true)) || undefined, {
        timeoutMs: 15_000,
        what: 'the client to reconnect to the restarted server',
      });
      const publishedFromMs = Date.now() - t0;
      const after = await publishMany(200, 100);
      const publishedAt = Date.now();
      await waitUntil(async () => ((await db.selectFrom('tally').select('n').executeTakeFirst())?.n === 300 ? true : undefined), {
        timeoutMs: 10_000,
        what: 'the projection to apply all 300 events after the restart',
      });
      const caughtUpMs = Date.now() - backAt;
      const afterPublishMs = Date.now() - publishedAt;
      process.stdout.write(
        `projection-recovery: nats killed (SIGKILL) and restarted in ${backAt - killedAt} ms; caught up ${caughtUpMs} ms after it was back; ${afterPublishMs} ms after the last publish (publishing from ${publishedFromMs} ms); back at ${backAt - t0} ms; consumer recreations: ${recreations.join(', ')}\n`,
      );
      const row = await db.selectFrom('tally').selectAll().executeTakeFirstOrThrow();
      expect(row.n).toBe(300);
      expect(Number(row.last_seq)).toBe(after);
      expect(recreations.length).toBeGreaterThan(0);
      expect((await runner.status()).state).toBe('ok');
    } finally {
      await runner.stop();
    }
  });

  it('a durable worker consumes afresh after the restart instead of waiting out its pull expiry', async () => {
    const seen = new Set<number>();
    const worker = await startWorker({
      bus,
      durable: `w_${names.id}`,
      filterSubject: `${names.SUBJECT_PREFIX}.agg.job.>`,
      deliverPolicy: 'new',
      handle: async (e) => {
        seen.add((e.data as { i: number }).i);
      },
      deadLetters: pgDeadLetters(db),
      logger: process.env.DEBUG_RECOVERY ? createLogger('worker', 'debug') : logger,
    });
    try {
      const publishJobs = async (from: number, count: number) => {
        for (let i = from; i < from + count; i++) await publishEvent(bus, aggregateSubject(names.SUBJECT_PREFIX, 'job', `j${i}`), ev(i));
      };
      await publishJobs(0, 50);
      await waitUntil(() => seen.size === 50 || undefined, { timeoutMs: 20_000, what: '50 jobs before the restart' });
      await nats?.kill('SIGKILL');
      await startNats();
      const backAt = Date.now();
      await waitUntil(async () => (await bus.jsm.streams.info(names.STREAM_NAME).then(() => true)) || undefined, {
        timeoutMs: 15_000,
        what: 'the client to reconnect',
      });
      const publishFrom = Date.now();
      await publishJobs(50, 50);
      const published = Date.now();
      await waitUntil(() => seen.size === 100 || undefined, { timeoutMs: 15_000, what: 'all 100 jobs after the restart' });
      process.stdout.write(
        `projection-recovery: durable worker handled every job ${Date.now() - backAt} ms after the server was back (${Date.now() - published} ms after the last publish; publishing took ${published - publishFrom} ms)\n`,
      );
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    } finally {
      await worker.stop();
    }
  });
});
