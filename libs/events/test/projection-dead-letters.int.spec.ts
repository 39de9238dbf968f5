import type { PlatformEvent, StoredEvent } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import { createLogger, newId } from '@pep/runtime';
import { createTestBus, dbUrl, testNames, waitUntil } from '@pep/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateSubject, DeadLetterRetryError, pgDeadLetters, publishEvent, startProjection } from '../src/index.ts';

// A projection that cannot apply an event does not skip it silently: it is recorded, counted, and the projection
// reports itself degraded until an operator retries (after fixing the cause) or discards it.
const names = testNames('pdl');
const logger = createLogger('test', 'silent');
let t: Awaited<ReturnType<typeof createTestBus>>;
let db: Kysely<PlatformTables & { names_seen: { id: string; name: string } }>;

const ev = (name: string): PlatformEvent => ({
  specversion: '1.0',
  id: newId('evt'),
  source: 'test',
  type: 'thing.named',
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data: { name },
});

beforeAll(async () => {
  t = await createTestBus(names, ['pdl']);
  const url = dbUrl(names, 'pdl');
  await ensureDatabase(url);
  db = createDb(url);
  await migrateToLatest(db, {
    '1700000000000-Names': {
      up: async (d) => {
        await d.schema
          .createTable('names_seen')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .execute();
      },
      down: async (d) => {
        await d.schema.dropTable('names_seen').execute();
      },
    },
  });
});

afterAll(async () => {
  await db?.destroy();
  await t?.cleanup();
});

describe('projection dead letters', () => {
  it('counts a dead letter, reports degraded until it is retried or discarded, and a retry applies the event', async () => {
    const refused = new Set(['poison-a', 'poison-b']);
    let deadLettered = 0;
    const runner = await startProjection({
      bus: t.bus,
      db,
      projection: {
        name: 'names',
        filterSubject: `${names.SUBJECT_PREFIX}.agg.thing.>`,
        async apply(trx, events: StoredEvent[]) {
          for (const e of events) {
            const name = (e.data as { name: string }).name;
            if (refused.has(name)) throw new Error(`cannot store ${name}`);
            await (trx as unknown as typeof db).insertInto('names_seen').values({ id: e.id, name }).execute();
          }
        },
        async reset(trx) {
          await trx.deleteFrom('names_seen' as never).execute();
        },
      },
      deadLetters: pgDeadLetters(db),
      logger,
      maxAttempts: 2,
      onDeadLetter: () => deadLettered++,
    });
    try {
      const subject = (i: number) => aggregateSubject(names.SUBJECT_PREFIX, 'thing', `t${i}`);
      await publishEvent(t.bus, subject(1), ev('fine-1'));
      await publishEvent(t.bus, subject(2), ev('poison-a'));
      await publishEvent(t.bus, subject(3), ev('poison-b'));
      const last = await publishEvent(t.bus, subject(4), ev('fine-2'));
      await runner.waitFor(last.seq, 20_000);

      expect(deadLettered).toBe(2);
      const status = await runner.status();
      expect(status.state).toBe('degraded');
      expect(status.openDeadLetters).toBe(2);
      expect(status.reason).toMatch(/2 dead-lettered/);
      expect((await db.selectFrom('names_seen').select('name').orderBy('name').execute()).map((r) => r.name)).toEqual(['fine-1', 'fine-2']);

      const letters = await pgDeadLetters(db).list({ consumer: 'projection:names' });
      const a = letters.find((l) => l.payload.includes('poison-a'));
      const b = letters.find((l) => l.payload.includes('poison-b'));
      if (!a || !b) throw new Error('both dead letters are recorded');

      // Retried before the cause is fixed: fails again, stays open with the new error.
      await expect(runner.retryDeadLetter(a.id)).rejects.toBeInstanceOf(DeadLetterRetryError);
      expect((await runner.status()).openDeadLetters).toBe(2);

      // The cause fixed: the retry applies the event and settles the letter.
      refused.delete('poison-a');
      await runner.retryDeadLetter(a.id);
      expect((await db.selectFrom('names_seen').select('name').where('name', '=', 'poison-a').execute()).length).toBe(1);
      await expect(runner.retryDeadLetter(a.id)).rejects.toThrow(/already settled/);
      expect((await runner.status()).openDeadLetters).toBe(1);

      // The other is discarded: nothing is applied, the projection is ok again.
      expect(await pgDeadLetters(db).discard(b.id)).toBe(true);
      expect(await pgDeadLetters(db).discard(b.id)).toBe(false);
      await waitUntil(async () => ((await runner.status()).state === 'ok' ? true : undefined), { timeoutMs: 5000, what: 'state ok' });
      expect((await db.selectFrom('names_seen').select('name').where('name', '=', 'poison-b').execute()).length).toBe(0);
    } finally {
      await runner.stop();
    }
  });
});
