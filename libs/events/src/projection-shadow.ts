import type { StoredEvent } from '@pep/contracts';
import type { PlatformTables } from '@pep/db';
import type { Logger } from '@pep/runtime';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { EventBus } from './connection.ts';
import { startProjection } from './projection.ts';
import type { Projection, ProjectionRunner } from './projection-types.ts';
import { type ProjectionTables, projectionTables, replay } from './projection-tables.ts';
import type { DeadLetterSink } from './worker.ts';

/** A rebuild beside the live read model could not run or switch over (the live one is left as it was). */
export class ShadowRebuildError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShadowRebuildError';
  }
}

export interface RebuildProgress {
  projection: string;
  mode: 'beside';
  state: 'building' | 'switching' | 'done' | 'failed';
  /** Last sequence the shadow applied, and the stream's last sequence of the filter when last asked. */
  applied: number;
  target: number;
  startedAt: string;
  finishedAt?: string;
  /** Events applied by the shadow so far (rate = events / elapsed). */
  events: number;
  error?: string;
}

export interface ShadowRebuildResult {
  projection: string;
  tables: string[];
  /** Of those, the ones other read models write too (their rows were carried over at the switch). */
  shared: string[];
  checkpoint: number;
  events: number;
  ms: number;
}

/** The live runner's part in the switch: stop applying (and wait until no batch is open), then go on. */
export interface LiveHooks {
  pause(): Promise<void>;
  resume(): void;
  checkpoint(): Promise<number>;
}

const ident = (s: string) => sql.id(s);
const safeName = (s: string) =>
  s
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase()
    .slice(0, 40);

/**
 * Rebuilds a projection without downtime. Its tables (declared, or inferred from what its `reset` empties:
 * `projectionTables`) are created empty in a shadow schema (`LIKE … INCLUDING ALL`)
 * and filled by a second runner of the same projection, with its own checkpoint row and its own consumer from
 * sequence 1, whose transactions put the shadow schema first on the search path. Meanwhile readers keep reading the
 * live tables. Once the shadow is caught up, the live runner is paused (its last batch committed), the shadow
 * catches up to the live checkpoint, and ONE transaction, under the live checkpoint's row lock, moves the live
 * tables out and the shadow tables in and sets the live checkpoint to the shadow's. Readers see the whole old table
 * or the whole new one, never an empty or partial one. The live runner then goes on from that checkpoint. A table
 * that other read models write too (its reset deletes only some rows) gets their rows copied into the shadow in
 * that same transaction, under a lock that holds their writers (not readers) until it commits.
 */
export async function rebuildBeside<DB extends PlatformTables>(opts: {
  bus: EventBus;
  db: Kysely<DB>;
  projection: Projection<DB>;
  live: LiveHooks;
  deadLetters: DeadLetterSink;
  logger: Logger;
  onProgress?: (p: RebuildProgress) => void;
  batchSize?: number;
}): Promise<ShadowRebuildResult> {
  const { projection, logger } = opts;
  const db = opts.db;
  let found: ProjectionTables;
  try {
    found = await projectionTables(projection);
  } catch (err) {
    throw new ShadowRebuildError(
      `projection ${projection.name}: ${err instanceof Error ? err.message : String(err)}; rebuild it in place`,
      {
        cause: err,
      },
    );
  }
  const tables = [...found.owned, ...found.shared];
  if (tables.length === 0)
    throw new ShadowRebuildError(`projection ${projection.name} empties no table on reset: rebuild it in place (without --beside)`);
  for (const p of found.partial)
    if (p.table.includes('.'))
      throw new ShadowRebuildError(`projection ${projection.name}: its reset names ${p.table} with a schema; rebuild it in place`);
  const started = Date.now();
  const shadow = `rebuild_${safeName(projection.name)}`;
  const retired = `retired_${safeName(projection.name)}`;
  const keep = `keep_${safeName(projection.name)}`;
  const shadowName = `${projection.name}~rebuild`;
  const progress: RebuildProgress = {
    projection: projection.name,
    mode: 'beside',
    state: 'building',
    applied: 0,
    target: 0,
    startedAt: new Date(started).toISOString(),
    events: 0,
  };
  const report = () => opts.onProgress?.({ ...progress });

  // Where each live table is (the first schema of the search path that has it).
  const liveSchema = new Map<string, string>();
  for (const t of tables) {
    const r = await sql<{
      schema: string | null;
    }>`select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass(${t})`.execute(
      db,
    );
    const schema = r.rows[0]?.schema;
    if (!schema) throw new ShadowRebuildError(`projection ${projection.name}: table ${t} does not exist`);
    liveSchema.set(t, schema);
  }
  // A rebuild that died half-way left its schema behind: start over.
  await sql`drop schema if exists ${ident(shadow)} cascade`.execute(db);
  await sql`drop schema if exists ${ident(retired)} cascade`.execute(db);
  await sql`drop schema if exists ${ident(keep)} cascade`.execute(db);
  await sql`create schema ${ident(shadow)}`.execute(db);
  for (const t of tables)
    await sql`create table ${sql.table(`${shadow}.${t}`)} (like ${sql.table(`${liveSchema.get(t)}.${t}`)} including all)`.execute(db);
  await sql`delete from projection_checkpoints where name = ${shadowName}`.execute(db);

  const withShadowFirst = async (trx: Transaction<DB>) => {
    await sql`select set_config('search_path', ${`${shadow}, `} || current_setting('search_path'), true)`.execute(trx);
  };
  const shadowProjection: Projection<DB> = {
    name: shadowName,
    filterSubject: projection.filterSubject,
    async apply(trx, events: StoredEvent[]) {
      await withShadowFirst(trx);
      await projection.apply(trx, events);
      progress.events += events.length;
    },
    async reset(trx) {
      await withShadowFirst(trx);
      await projection.reset(trx);
    },
  };
  const lastMatching = async () =>
    (await opts.bus.jsm.streams.getMessage(opts.bus.stream, { last_by_subj: projection.filterSubject }))?.seq ?? 0;
  let runner: ProjectionRunner | undefined;
  let paused = false;
  try {
    runner = await startProjection({
      bus: opts.bus,
      db: opts.db,
      projection: shadowProjection,
      deadLetters: opts.deadLetters,
      logger,
      // Larger batches than the live runner's: a rebuild reads a long backlog, and fewer transactions are faster.
      batchSize: opts.batchSize ?? 2000,
    });
    logger.info('projection rebuild beside the live one started', { projection: projection.name, shadow, tables });
    // Caught up with the stream, then with the paused live runner's last commit (never behind what readers saw).
    for (let goal = await lastMatching(); ; ) {
      progress.applied = await runner.checkpoint();
      progress.target = Math.max(goal, progress.applied);
      report();
      if (progress.applied >= goal) {
        if (paused) break;
        await opts.live.pause();
        paused = true;
        goal = Math.max(goal, await opts.live.checkpoint());
        continue;
      }
      await runner.waitFor(goal, 1000).catch(() => 0);
      if (!paused) goal = await lastMatching();
    }
    await runner.stop();
    runner = undefined;
    progress.state = 'switching';
    report();
    const checkpoint = await switchOver({ db, tables, liveSchema, shadow, retired, keep, found, live: projection.name, shadowName });
    await sql`drop schema if exists ${ident(retired)} cascade`.execute(db);
    await sql`drop schema if exists ${ident(shadow)} cascade`.execute(db);
    progress.state = 'done';
    progress.finishedAt = new Date().toISOString();
    report();
    const result = {
      projection: projection.name,
      tables,
      shared: found.shared,
      checkpoint,
      events: progress.events,
      ms: Date.now() - started,
    };
    logger.info('projection rebuilt beside and switched over', { ...result });
    return result;
  } catch (err) {
    progress.state = 'failed';
    progress.error = err instanceof Error ? err.message : String(err);
    report();
    logger.error('projection rebuild beside failed; the live read model is unchanged', { projection: projection.name, err });
    throw err instanceof ShadowRebuildError
      ? err
      : new ShadowRebuildError(`rebuild of ${projection.name} failed: ${progress.error}`, { cause: err });
  } finally {
    await runner?.stop();
    if (paused) opts.live.resume();
  }
}

/** The atomic part: one transaction under the live checkpoint's lock swaps the tables and the checkpoint. */
async function switchOver<DB>(o: {
  db: Kysely<DB>;
  tables: string[];
  liveSchema: Map<string, string>;
  shadow: string;
  retired: string;
  keep: string;
  found: ProjectionTables;
  live: string;
  shadowName: string;
}): Promise<number> {
  return o.db.transaction().execute(async (trx) => {
    await sql`select seq from projection_checkpoints where name = ${o.live} for update`.execute(trx);
    const built = await sql<{ seq: number }>`select seq from projection_checkpoints where name = ${o.shadowName}`.execute(trx);
    const seq = Number(built.rows[0]?.seq ?? 0);
    // A table other read models write too: their rows (the live rows this reset would not delete) join the rebuilt
    // ones. Their writers wait on the lock for this one transaction (readers go on), so no row of theirs is missed.
    if (o.found.shared.length) await sql`create schema ${ident(o.keep)}`.execute(trx);
    for (const t of o.found.shared) {
      const live = sql.table(`${o.liveSchema.get(t) ?? 'public'}.${t}`);
      await sql`lock table ${live} in exclusive mode`.execute(trx);
      await sql`create table ${sql.table(`${o.keep}.${t}`)} as select * from ${live}`.execute(trx);
      const path = await sql<{ p: string }>`select current_setting('search_path') as p`.execute(trx);
      await sql`select set_config('search_path', ${`${o.keep}, `} || current_setting('search_path'), true)`.execute(trx);
      for (const p of o.found.partial.filter((x) => x.table === t)) await trx.executeQuery(replay(p));
      await sql`select set_config('search_path', ${path.rows[0]?.p ?? 'public'}, true)`.execute(trx);
      await sql`insert into ${sql.table(`${o.shadow}.${t}`)} select * from ${sql.table(`${o.keep}.${t}`)}`.execute(trx);
    }
    if (o.found.shared.length) await sql`drop schema ${ident(o.keep)} cascade`.execute(trx);
    await sql`create schema ${ident(o.retired)}`.execute(trx);
    for (const t of o.tables) {
      const schema = o.liveSchema.get(t) ?? 'public';
      // A serial column's sequence belongs to the old table, and the new table's default uses it too: keep it.
      const owned = await sql<{ seq: string; col: string }>`
        select s.oid::regclass::text as seq, a.attname as col
        from pg_depend d join pg_class s on s.oid = d.objid and s.relkind = 'S'
        join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
        where d.refobjid = ${`${schema}.${t}`}::regclass and d.deptype = 'a'`.execute(trx);
      for (const o2 of owned.rows) await sql`alter sequence ${sql.raw(o2.seq)} owned by none`.execute(trx);
      await sql`alter table ${sql.table(`${schema}.${t}`)} set schema ${ident(o.retired)}`.execute(trx);
      await sql`alter table ${sql.table(`${o.shadow}.${t}`)} set schema ${ident(schema)}`.execute(trx);
      for (const o2 of owned.rows)
        await sql`alter sequence ${sql.raw(o2.seq)} owned by ${sql.table(`${schema}.${t}`)}.${ident(o2.col)}`.execute(trx);
    }
    await sql`update projection_checkpoints set seq = ${seq}, updated_at = now() where name = ${o.live}`.execute(trx);
    await sql`delete from projection_checkpoints where name = ${o.shadowName}`.execute(trx);
    return seq;
  });
}
