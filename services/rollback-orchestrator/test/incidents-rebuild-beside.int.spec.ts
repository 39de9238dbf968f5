import type { PlatformEvent, StoredEvent } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest } from '@pep/db';
import {
  aggregateFilter,
  aggregateSubject,
  type Projection,
  pgDeadLetters,
  projectionTables,
  publishEvent,
  type RebuildProgress,
  rebuildBeside,
  startProjection,
} from '@pep/events';
import { createLogger, newId } from '@pep/runtime';
import { createTestBus, dbUrl, testNames } from '@pep/testing';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orchestratorMigrations } from '../src/db/migrations/index.ts';
import type { OrchestratorDB } from '../src/db/schema.ts';
import { incidentsProjection } from '../src/projections/incidents/index.ts';

// Issue 16.5: the orchestrator's incidents read model, which declares no tables, rebuilt beside the live one while
// readers go on. Its tables are inferred from its reset: `incidents` (its own) and `timeline`, which the rollback
// runs projection writes too (its reset deletes only `incident.%` rows). Here a stand-in for the runs projection
// keeps writing `rollback.%` timeline rows throughout: after the switch they are all still there, beside the
// rebuilt incident rows, and readers never saw an incident or a timeline row go missing.
const names = testNames('incrb');
const logger = createLogger('test', 'silent');
let t: Awaited<ReturnType<typeof createTestBus>>;
let db: Kysely<OrchestratorDB>;

const envelope = (type: string, data: Record<string, unknown>): PlatformEvent => ({
  specversion: '1.0',
  id: newId('evt'),
  source: 'test',
  type,
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data,
});
const opened = (i: number) =>
  envelope('incident.opened', {
    partner_id: 'ptn_rebuild',
    incident_id: `inc-${i}`,
    customer_id: 'shop',
    severity: 'critical',
    journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.example.com/pay' },
    evidence: {},
    suspects: { pull_requests: [], flags: [] },
    source: 'api',
    detected_at: new Date().toISOString(),
    opened_at: new Date().toISOString(),
  });

/** Stands in for the rollback runs projection: one `rollback.step` timeline row per event of its own aggregate. */
const runsStandIn = (prefix: string): Projection<OrchestratorDB> => ({
  name: 'runs-stand-in',
  filterSubject: aggregateFilter(prefix, 'rollback'),
  async apply(trx, events: StoredEvent[]) {
    await trx
      .insertInto('timeline')
      .values(
        events.map((e) => ({ seq: e.seq, key: 'run', at: e.time, type: 'rollback.step', actor: 'test', summary: 'step', details: '{}' })),
      )
      .execute();
  },
  async reset(trx) {
    await trx.deleteFrom('timeline').where('type', 'like', 'rollback.%').execute();
  },
});

beforeAll(async () => {
  t = await createTestBus(names, ['rollback-orchestrator']);
  const url = dbUrl(names, 'rollback-orchestrator');
  await ensureDatabase(url);
  db = createDb<OrchestratorDB>(url, { max: 6 });
  await migrateToLatest(db, orchestratorMigrations);
});
afterAll(async () => {
  await db?.destroy();
  await t?.cleanup();
});

describe("the incidents read model rebuilt beside the live one (tables inferred, timeline shared with the runs')", () => {
  it('infers its tables from its reset, keeps readers on whole tables, and carries the other read model’s rows over', async () => {
    const prefix = names.SUBJECT_PREFIX;
    const incidents = incidentsProjection(prefix);
    expect(incidents.tables).toBeUndefined();
    expect(await projectionTables(incidents)).toMatchObject({ owned: ['incidents'], shared: ['timeline'] });

    const before = 300;
    for (let i = 0; i < before; i++) {
      await publishEvent(t.bus, aggregateSubject(prefix, 'incident', `i${i}`), opened(i));
      if (i % 3 === 0) await publishEvent(t.bus, aggregateSubject(prefix, 'rollback', `r${i}`), envelope('rollback.step', {}));
    }
    const deadLetters = pgDeadLetters(db);
    const live = await startProjection({ bus: t.bus, db, projection: incidents, deadLetters, logger });
    const runs = await startProjection({ bus: t.bus, db, projection: runsStandIn(prefix), deadLetters, logger });
    try {
      await Promise.all([live.waitFor(undefined, 30_000), runs.waitFor(undefined, 30_000)]);
      const runRowsBefore = Number(
        (await sql<{ n: string }>`select count(*) as n from timeline where type = 'rollback.step'`.execute(db)).rows[0]?.n,
      );
      expect(runRowsBefore).toBe(before / 3);
      const lastBefore = (await t.bus.jsm.streams.info(t.bus.stream)).state.last_seq;

      // Readers throughout: every incident opened before the rebuild, and its timeline row, are always there.
      const seen: { incidents: number; incidentRows: number; runRows: number }[] = [];
      let reading = true;
      const reader = (async () => {
        while (reading) {
          const r = await sql<{ incidents: string; incident_rows: string; run_rows: string }>`select
              (select count(*) from incidents where incident_id in (select 'inc-' || g from generate_series(0, ${before - 1}) g)) as incidents,
              (select count(*) from timeline where type = 'incident.opened' and seq <= ${lastBefore}) as incident_rows,
              (select count(*) from timeline where type = 'rollback.step') as run_rows`.execute(db);
          const row = r.rows[0];
          if (row) seen.push({ incidents: Number(row.incidents), incidentRows: Number(row.incident_rows), runRows: Number(row.run_rows) });
        }
      })();
      // The other read model and this one keep receiving events while the shadow is built.
      const during = (async () => {
        for (let i = before; i < before + 60; i++) {
          await publishEvent(t.bus, aggregateSubject(prefix, 'rollback', `r${i}`), envelope('rollback.step', {}));
          if (i % 2 === 0) await publishEvent(t.bus, aggregateSubject(prefix, 'incident', `i${i}`), opened(i));
        }
      })();
      const progress: RebuildProgress[] = [];
      const result = await rebuildBeside({
        bus: t.bus,
        db,
        projection: incidents,
        live,
        deadLetters,
        logger,
        batchSize: 40,
        onProgress: (p) => progress.push(p),
      });
      await during;
      await Promise.all([live.waitFor(undefined, 30_000), runs.waitFor(undefined, 30_000)]);
      reading = false;
      await reader;

      expect(result.tables.sort()).toEqual(['incidents', 'timeline']);
      expect(result.shared).toEqual(['timeline']);
      expect(progress.at(-1)?.state).toBe('done');
      expect(seen.length).toBeGreaterThan(3);
      for (const s of seen) {
        expect(s.incidents).toBe(before);
        expect(s.incidentRows).toBe(before);
      }
      // The runs' rows never went missing and none was lost at the switch: every one of its events has its row.
      const runEvents = before / 3 + 60;
      expect(Math.min(...seen.map((s) => s.runRows))).toBeGreaterThanOrEqual(before / 3);
      const after = await sql<{ type: string; n: string }>`select type, count(*) as n from timeline group by type order by type`.execute(
        db,
      );
      expect(Object.fromEntries(after.rows.map((r) => [r.type, Number(r.n)]))).toEqual({
        'incident.opened': before + 30,
        'rollback.step': runEvents,
      });
      const incidentCount = await sql<{ n: string }>`select count(*) as n from incidents`.execute(db);
      expect(Number(incidentCount.rows[0]?.n)).toBe(before + 30);
      // No shadow, kept or retired schema is left behind.
      const schemas = await sql<{ n: string }>`select nspname as n from pg_namespace where nspname like ${'%incidents'}`.execute(db);
      expect(schemas.rows).toEqual([]);
    } finally {
      await live.stop();
      await runs.stop();
    }
  });
});
