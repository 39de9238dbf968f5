import { type Generated, type Kysely, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';

export type NamedMigrations = Record<string, Migration>;

/**
 * Runs a service's migrations (named `<epoch-ms>-<PascalName>`) plus the platform's own tables. Returns what
 * was applied; a failure throws with the migration's name.
 */
export async function migrateToLatest<DB>(db: Kysely<DB>, migrations: NamedMigrations): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...platformMigrations, ...migrations }) },
    // A platform migration added later (e.g. DeadLetterResolution) sorts between a service's older ones.
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? '?'} failed: ${(error as Error).message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Undoes the last applied migration (its real `down`). */
export async function migrateDown<DB>(db: Kysely<DB>, migrations: NamedMigrations): Promise<string | undefined> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...platformMigrations, ...migrations }) },
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateDown();
  if (error) throw new Error(`migrate down failed: ${(error as Error).message}`, { cause: error });
  return results?.[0]?.migrationName;
}

/** Tables every service has: projection checkpoints and dead letters (poison messages kept for operators). */
export const platformMigrations: NamedMigrations = {
  '0000000000000-PlatformTables': {
    async up(db) {
      await db.schema
        .createTable('projection_checkpoints')
        .ifNotExists()
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('dead_letters')
        .ifNotExists()
        .addColumn('id', 'bigserial', (c) => c.primaryKey())
        .addColumn('consumer', 'text', (c) => c.notNull())
        .addColumn('stream_seq', 'bigint', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text')
        .addColumn('event_type', 'text')
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('error', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('retried_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('dead_letters_consumer_idx').ifNotExists().on('dead_letters').columns(['consumer', 'id']).execute();
    },
    async down(db) {
      await db.schema.dropTable('dead_letters').ifExists().execute();
      await db.schema.dropTable('projection_checkpoints').ifExists().execute();
    },
  },
  /** An operator settles a dead letter by retrying it (`retried_at`) or discarding it (`discarded_at`). */
  '1796090000000-DeadLetterResolution': {
    async up(db) {
      await db.schema.alterTable('dead_letters').addColumn('discarded_at', 'timestamptz').execute();
    },
    async down(db) {
      await db.schema.alterTable('dead_letters').dropColumn('discarded_at').execute();
    },
  },
};

/** Row types of the platform tables, to merge into each service's `DB` interface. */
export interface PlatformTables {
  projection_checkpoints: { name: string; seq: number; updated_at: Generated<Date> };
  dead_letters: {
    id: Generated<number>;
    consumer: string;
    stream_seq: number;
    subject: string;
    event_id: string | null;
    event_type: string | null;
    payload: string;
    error: string;
    attempts: number;
    created_at: Generated<Date>;
    retried_at: Date | null;
    discarded_at: Generated<Date | null>;
  };
}
