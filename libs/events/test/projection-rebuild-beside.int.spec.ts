import type { PlatformEvent, StoredEvent } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import { createLogger, newId } from '@pep/runtime';
import { createTestBus, dbUrl, testNames } from '@pep/testing';
import { type Generated, type Kysely, sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aggregateSubject,
  type Projection,
  pgDeadLetters,
  publishEvent,
  type RebuildProgress,
  rebuildBeside,
  startProjection,
} from '../src/index.ts';

// A projection rebuilt beside the live one: readers keep the whole old table while the shadow fills, then see the
// whole new one after ONE switch-over transaction; the checkpoint matches the rows; events keep flowing throughout.
const names = testNames('prb');
const logger = createLogger('test', 'silent');
type Tables = PlatformTables & { things: { id: Generated<number>; event_id: string; seq: number; tag: string } };
let t: Awaited<ReturnType<typeof createTestBus>>;
let db: Kysely<Tables>;

const ev = (i: number): PlatformEvent => ({
  specversion: '1.0',
  id: newId('evt'),
  source: 'test',
  type: 'thing.counted',
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data: { i },
});

/** The read model's code: `tag` says which version wrote a row (v1 live, v2 the rebuilt one). */
const thingsProjection = (tag: string): Projection<Tables> => ({
  name: 'things',
  filterSubject: `${names.SUBJECT_PREFIX}.agg.thing.>`,
  tables: ['things'],
  async apply(trx: Transaction<Tables>, events: StoredEvent[]) {
    await trx
      .insertInto('things')
      .values(events.map((e) => ({ event_id: e.id, seq: e.seq, tag })))
      .execute();
  },
  async reset(trx) {
    await trx.deleteFrom('things').execute();
  },
});

beforeAll(async () => {
  t = await createTestBus(names, ['prb']);
  const url = dbUrl(names, 'prb');
  await ensureDatabase(url);
  db = createDb(url);
  await migrateToLatest(db, {
    '1700000000000-Things': {
      up: async (d) => {
        await d.schema
          .createTable('things')
          .addColumn('id', 'serial', (c) => c.primaryKey())
          .addColumn('event_id', 'text', (c) => c.notNull().unique())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('tag', 'text', (c) => c.notNull())
          .execute();
        await d.schema.createIndex('things_seq').on('things').column('seq').execute();
      },
      down: async (d) => {
        await d.schema.dropTable('things').execute();
      },
    },
  });
});

afterAll(async () => {
  await db?.destroy();
  await t?.cleanup();
});

describe('projection rebuilt beside the live one', () => {
  it('keeps readers on the full old table, switches atomically to the new one, and leaves a consistent checkpoint', async () => {
    const subject = (i: number) => aggregateSubject(names.SUBJECT_PREFIX, 'thing', `t${i % 50}`);
    const before = 1500;
    let last = 0;
    for (let i = 0; i < before; i++) last = (await publishEvent(t.bus, subject(i), ev(i))).seq;
    const live = await startProjection({ bus: t.bus, db, projection: thingsProjection('v1'), deadLetters: pgDeadLetters(db), logger });
    try {
      await live.waitFor(last, 30_000);
      const oldRows = Number(
        (
          await db
            .selectFrom('things')
            .select((e) => e.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
      expect(oldRows).toBe(before);

      // Readers during the rebuild, and events still flowing into the live read model.
      const seen: { n: number; tags: string[]; minSeq: number }[] = [];
      let reading = true;
      const reader = (async () => {
        while (reading) {
          const r = await sql<{ n: string; tags: string[]; min_seq: number }>`
            select count(*) as n, array_agg(distinct tag) as tags, min(seq) as min_seq from things where seq <= ${last}`.execute(db);
          const row = r.rows[0];
          if (row) seen.push({ n: Number(row.n), tags: row.tags ?? [], minSeq: Number(row.min_seq ?? 0) });
        }
      })();
      const during = (async () => {
        for (let i = before; i < before + 200; i++) await publishEvent(t.bus, subject(i), ev(i));
      })();
      const progress: RebuildProgress[] = [];
      const result = await rebuildBeside({
        bus: t.bus,
        db,
        projection: thingsProjection('v2'),
        live,
        deadLetters: pgDeadLetters(db),
        logger,
        batchSize: 50,
        onProgress: (p) => progress.push(p),
      });
      await during;
      const end = (await t.bus.jsm.streams.info(t.bus.stream)).state.last_seq;
      await live.waitFor(end, 30_000);
      reading = false;
      await reader;

      // Every read saw all the old events, from one version only: never an empty, partial or mixed table.
      expect(seen.length).toBeGreaterThan(5);
      for (const s of seen) {
        expect(s.n).toBe(before);
        expect(s.tags.length).toBe(1);
      }
      expect(seen.some((s) => s.tags[0] === 'v1')).toBe(true);
      expect(seen.at(-1)?.tags).toEqual(['v2']);

      // After the switch: the rebuilt rows, then the live runner's, each event exactly once, checkpoint = last row.
      const rows = await db.selectFrom('things').select(['seq', 'tag', 'event_id']).orderBy('seq').execute();
      expect(rows.length).toBe(before + 200);
      expect(new Set(rows.map((r) => r.event_id)).size).toBe(before + 200);
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: before + 200 }, (_, i) => i + 1));
      expect(rows.filter((r) => r.seq <= result.checkpoint).every((r) => r.tag === 'v2')).toBe(true);
      expect(result.checkpoint).toBeGreaterThanOrEqual(before);
      expect(await live.checkpoint()).toBe(end);
      expect(progress.at(-1)?.state).toBe('done');
      expect(progress.some((p) => p.state === 'building' && p.applied < p.target)).toBe(true);

      // Nothing of the rebuild is left: no shadow schema, no shadow checkpoint; the serial column still works.
      const schemas = await sql<{
        n: string;
      }>`select count(*) as n from pg_namespace where nspname like 'rebuild_%' or nspname like 'retired_%'`.execute(db);
      expect(Number(schemas.rows[0]?.n)).toBe(0);
      expect(await db.selectFrom('projection_checkpoints').select('name').where('name', 'like', 'things~%').execute()).toEqual([]);
      const inserted = await db
        .insertInto('things')
        .values({ event_id: 'manual', seq: 0, tag: 'x' })
        .returning('id')
        .executeTakeFirstOrThrow();
      expect(inserted.id).toBeGreaterThan(0);
      console.log(`rebuild beside: ${result.events} events in ${result.ms} ms; ${seen.length} reads during it, all full`);
    } finally {
      await live.stop();
    }
  });
});
