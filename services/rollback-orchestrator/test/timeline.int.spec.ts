import { createDb, dropDatabase, ensureDatabase, migrateToLatest } from '@pep/db';
import { dbUrl, testNames } from '@pep/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orchestratorMigrations } from '../src/db/migrations/index.ts';
import type { OrchestratorDB } from '../src/db/schema.ts';
import { timelineOf } from '../src/projections/incidents/index.ts';

// The timeline table as the projections fill it (one row per event, keyed by stream sequence), read back
// by GET /v1/incidents/{id}.
const names = testNames('timeline');
const url = dbUrl(names, 'rollback-orchestrator');
let db: Kysely<OrchestratorDB>;

beforeAll(async () => {
  await ensureDatabase(url);
  db = createDb<OrchestratorDB>(url, { max: 2 });
  await migrateToLatest(db, orchestratorMigrations);
});
afterAll(async () => {
  await db?.destroy();
  await dropDatabase(url);
});

const row = (seq: number, key: string, at: string, type: string) => ({
  seq,
  key,
  at,
  type,
  actor: 'rollback-orchestrator',
  summary: type,
  details: JSON.stringify({}),
});

describe('an incident timeline', () => {
  it('comes back in time order, whatever order the events reached the stream in', async () => {
    await db
      .insertInto('timeline')
      .values([
        row(10, 'k1', '2026-03-01T12:00:00.000Z', 'incident.opened'),
        row(11, 'k1', '2026-03-01T12:00:00.010Z', 'rollback.planned'),
        // The slower of two parallel actions reached the stream first.
        row(12, 'k1', '2026-03-01T12:00:02.500Z', 'rollback.action_succeeded'),
        row(13, 'k1', '2026-03-01T12:00:01.200Z', 'rollback.action_failed'),
        row(14, 'k1', '2026-03-01T12:00:02.600Z', 'rollback.partially_failed'),
        // Resolved with a time in another offset: 11:59:59 UTC, before the incident was opened here.
        row(15, 'k1', '2026-03-01T13:59:59+02:00', 'incident.resolved'),
        row(16, 'k2', '2026-03-01T11:00:00.000Z', 'incident.opened'),
      ])
      .execute();

    const t = await timelineOf(db, 'k1');
    expect(t.map((e) => e.seq)).toEqual([15, 10, 11, 13, 12, 14]);
    const times = t.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('keeps stream order for entries at the same time', async () => {
    await db
      .insertInto('timeline')
      .values([row(21, 'k3', '2026-03-01T12:00:00Z', 'rollback.planned'), row(20, 'k3', '2026-03-01T12:00:00.000Z', 'incident.opened')])
      .execute();
    expect((await timelineOf(db, 'k3')).map((e) => e.type)).toEqual(['incident.opened', 'rollback.planned']);
  });
});
