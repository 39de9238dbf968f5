import { createDb, dropDatabase, ensureDatabase, migrateDown, migrateToLatest } from '@pep/db';
import { dbUrl, testNames } from '@pep/testing';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { dispatcherMigrations } from '../src/db/migrations/index.ts';

const names = testNames('whmig');
const url = dbUrl(names, 'webhook-dispatcher');
const db = createDb(url, { max: 1 });
afterAll(async () => {
  await db.destroy();
  await dropDatabase(url);
});

const columns = async () =>
  (
    await sql<{ column_name: string }>`select column_name from information_schema.columns where table_name = 'webhook_jobs'`.execute(db)
  ).rows.map((r) => r.column_name);

describe('the JobDeliveriesReused migration', () => {
  it('adds deliveries_reused (0 for existing jobs) and its down removes it again', async () => {
    await ensureDatabase(url);
    await migrateToLatest(db, dispatcherMigrations);
    expect(await columns()).toContain('deliveries_reused');
    // Undo the migrations applied after it (if any), then it.
    const mine = Object.keys(dispatcherMigrations).find((n) => n.endsWith('-JobDeliveriesReused')) as string;
    const later = Object.keys(dispatcherMigrations).filter((n) => n > mine).length;
    let undone: string | undefined;
    for (let i = 0; i <= later; i++) undone = await migrateDown(db, dispatcherMigrations);
    expect(undone).toBe(mine);
    expect(await columns()).not.toContain('deliveries_reused');
    expect(await columns()).toContain('deliveries_created');
    await migrateToLatest(db, dispatcherMigrations);
    expect(await columns()).toContain('deliveries_reused');
  });
});
