import { type PlatformEvent, type StoredEvent } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import { createLogger, newId } from '@pep/runtime';
import { createTestBus, dbUrl, testNames, waitUntil } from '@pep/testing';
import { type Kysely, sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aggregateSubject,
  appendToAggregate,
  ConcurrencyConflictError,
  createAggregateLoader,
  pgDeadLetters,
  publishEvent,
  startProjection,
  startWorker,
} from '../src/index.ts';

const names = testNames('ev');
let t: Awaited<ReturnType<typeof createTestBus>>;
/** The test's own read model, beside the platform tables. */
interface CountsTables {
  counts: { id: string; n: number };
}
type TestDB = PlatformTables & CountsTables;
let db: Kysely<TestDB>;
const logger = createLogger('test', 'silent');

const ev = (type: string, data: unknown, id = newId('evt')): PlatformEvent => ({
  specversion: '1.0',
  id,
  source: 'test',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data,
});

beforeAll(async () => {
  t = await createTestBus(names, ['events']);
  const url = dbUrl(names, 'events');
  await ensureDatabase(url);
  db = createDb(url);
  await migrateToLatest(db, {
    '1700000000000-Counts': {
      up: async (d) => {
        await d.schema
          .createTable('counts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('n', 'integer')
          .execute();
      },
      down: async (d) => {
        await d.schema.dropTable('counts').execute();
      },
    },
  });
});
afterAll(async () => {
  await db?.destroy();
  await t?.cleanup();
});

describe('event store', () => {
  it('stores the same event id once', async () => {
    const e = ev('test.happened', { x: 1 });
    const subject = `${names.SUBJECT_PREFIX}.ext._.test.happened`;
    const a = await publishEvent(t.bus, subject, e);
    const b = await publishEvent(t.bus, subject, e);
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
  });

  it('rejects an append whose expected sequence is stale, and loads the aggregate by folding', async () => {
    const subject = aggregateSubject(names.SUBJECT_PREFIX, 'counter', 'c1');
    const [first] = await appendToAggregate(t.bus, subject, 0, [ev('counter.incremented', { by: 1 })]);
    await appendToAggregate(t.bus, subject, first!.seq, [ev('counter.incremented', { by: 2 })]);
    await expect(appendToAggregate(t.bus, subject, first!.seq, [ev('counter.incremented', { by: 5 })])).rejects.toBeInstanceOf(
      ConcurrencyConflictError,
    );
    const loader = createAggregateLoader(
      t.bus,
      () => 0,
      (s, e) => s + (e.data as { by: number }).by,
    );
    const snap = await loader.load(subject);
    expect(snap.state).toBe(3);
    await expect(
      appendToAggregate(t.bus, aggregateSubject(names.SUBJECT_PREFIX, 'counter', 'c1'), 0, [ev('counter.incremented', { by: 1 })]),
    ).rejects.toBeInstanceOf(ConcurrencyConflictError);
  });

  it('projects events exactly once with the checkpoint in the same transaction, and rebuilds', async () => {
    const filter = `${names.SUBJECT_PREFIX}.agg.tally.>`;
    const projection = {
      name: 'tally',
      filterSubject: filter,
      async apply(trx: Transaction<TestDB>, events: StoredEvent[]) {
        for (const e of events) {
          await trx
            .insertInto('counts')
            .values({ id: 'total', n: 1 })
            .onConflict((oc) => oc.column('id').doUpdateSet({ n: sql`counts.n + 1` }))
            .execute();
          void e;
        }
      },
      async reset(trx: Transaction<TestDB>) {
        await trx.deleteFrom('counts').execute();
      },
    };
    for (let i = 0; i < 50; i++)
      await appendToAggregate(t.bus, aggregateSubject(names.SUBJECT_PREFIX, 'tally', `a${i}`), 0, [ev('tally.added', { i })]);
    // Two runners of the same projection (two replicas): the checkpoint lock keeps it exactly-once.
    const r1 = await startProjection({ bus: t.bus, db, projection, deadLetters: pgDeadLetters(db), logger });
    const r2 = await startProjection({ bus: t.bus, db, projection, deadLetters: pgDeadLetters(db), logger });
    await r1.waitFor();
    await r2.waitFor();
    const row = await db.selectFrom('counts').selectAll().executeTakeFirst();
    expect(row?.n).toBe(50);
    await r2.stop();
    await r1.rebuild({ from: 'start' });
    await waitUntil(async () => ((await db.selectFrom('counts').selectAll().executeTakeFirst())?.n === 50 ? true : undefined));
    expect(await r1.lag()).toBe(0);
    await r1.stop();
  });

  it('dead-letters a message that keeps failing and goes on with the rest', async () => {
    const filter = `${names.SUBJECT_PREFIX}.ext.w.>`;
    const seen: string[] = [];
    const dl = pgDeadLetters(db);
    const w = await startWorker({
      bus: t.bus,
      durable: 'w1',
      filterSubject: filter,
      maxDeliver: 2,
      backoffMs: [10],
      deadLetters: dl,
      logger,
      handle: async (e) => {
        if ((e.data as { bad?: boolean }).bad) throw new Error('boom');
        seen.push(e.id);
      },
    });
    await publishEvent(t.bus, `${names.SUBJECT_PREFIX}.ext.w.x`, ev('x.y', { bad: true }, 'bad-1'));
    await publishEvent(t.bus, `${names.SUBJECT_PREFIX}.ext.w.x`, ev('x.y', { bad: false }, 'good-1'));
    await waitUntil(async () => ((await dl.list({ consumer: 'w1' })).length === 1 ? true : undefined));
    expect(seen).toContain('good-1');
    const [letter] = await dl.list({ consumer: 'w1' });
    expect(letter?.event_id).toBe('bad-1');
    expect(letter?.error).toContain('boom');
    await w.stop();
  });
});
