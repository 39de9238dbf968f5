import type { PlatformEvent } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import { createLogger, newId } from '@pep/runtime';
import { createTestBus, dbUrl, testNames, waitUntil } from '@pep/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateSubject, DeadLetterRetryError, pgDeadLetters, publishEvent, retryWorkerDeadLetter, startWorker } from '../src/index.ts';

// A worker's dead letter is not only discarded: once the cause is fixed it is processed again, exactly once.
const names = testNames('wdl');
const logger = createLogger('test', 'silent');
let t: Awaited<ReturnType<typeof createTestBus>>;
let db: Kysely<PlatformTables>;

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
  t = await createTestBus(names, ['wdl']);
  const url = dbUrl(names, 'wdl');
  await ensureDatabase(url);
  db = createDb(url);
  await migrateToLatest(db, {});
});

afterAll(async () => {
  await db?.destroy();
  await t?.cleanup();
});

describe('worker dead letters', () => {
  it('retries a dead letter through the worker handler once, refuses a second retry, reopens a failed one', async () => {
    const refused = new Set(['poison']);
    const handled: string[] = [];
    const deadLetters = pgDeadLetters(db);
    const worker = await startWorker({
      bus: t.bus,
      durable: `${names.id}-things`,
      filterSubject: `${names.SUBJECT_PREFIX}.agg.thing.>`,
      maxDeliver: 1,
      backoffMs: [50],
      deadLetters,
      logger,
      handle: async (e) => {
        const name = (e.data as { name: string }).name;
        if (refused.has(name)) throw new Error(`cannot handle ${name}`);
        handled.push(name);
      },
    });
    try {
      await publishEvent(t.bus, aggregateSubject(names.SUBJECT_PREFIX, 'thing', 't1'), ev('fine'));
      await publishEvent(t.bus, aggregateSubject(names.SUBJECT_PREFIX, 'thing', 't2'), ev('poison'));
      const letter = await waitUntil(async () => (await deadLetters.list({ consumer: `${names.id}-things` }))[0], {
        timeoutMs: 15_000,
        what: 'the poison message dead-lettered',
      });
      expect(handled).toEqual(['fine']);

      // Retried before the cause is fixed: fails, and the letter is open again with the new error.
      await expect(retryWorkerDeadLetter({ bus: t.bus, deadLetters, logger, id: letter.id })).rejects.toBeInstanceOf(DeadLetterRetryError);
      const reopened = await deadLetters.get(letter.id);
      expect(reopened?.retried_at).toBeNull();
      expect(reopened?.attempts).toBe(letter.attempts + 1);

      // Fixed, and two operators retry at once: the handler runs once, the other retry is refused.
      refused.delete('poison');
      const results = await Promise.allSettled([
        retryWorkerDeadLetter({ bus: t.bus, deadLetters, logger, id: letter.id }),
        retryWorkerDeadLetter({ bus: t.bus, deadLetters, logger, id: letter.id }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
      const refusedRetry = results.find((r) => r.status === 'rejected');
      expect(refusedRetry?.status === 'rejected' && refusedRetry.reason).toBeInstanceOf(DeadLetterRetryError);
      expect(handled).toEqual(['fine', 'poison']);
      expect((await deadLetters.get(letter.id))?.retried_at).not.toBeNull();
      await expect(retryWorkerDeadLetter({ bus: t.bus, deadLetters, logger, id: letter.id })).rejects.toThrow(/already settled/);
      expect(handled).toEqual(['fine', 'poison']);
    } finally {
      await worker.stop();
    }
    // A letter of a worker that does not run here is refused and stays open.
    const other = await db
      .insertInto('dead_letters')
      .values({ consumer: 'nobody', stream_seq: 1, subject: 'x', event_id: null, event_type: null, payload: '{}', error: 'e', attempts: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    await expect(retryWorkerDeadLetter({ bus: t.bus, deadLetters, logger, id: other.id })).rejects.toThrow(/no worker nobody/);
    expect((await deadLetters.get(other.id))?.retried_at).toBeNull();
  });
});
