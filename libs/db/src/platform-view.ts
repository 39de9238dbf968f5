import type { Kysely } from 'kysely';
import type { PlatformTables } from './migrations.ts';

/**
 * The platform's own tables (checkpoints, dead letters, …) as seen through a service's database.
 *
 * Every service database is `Kysely<XDB>` with `XDB extends PlatformTables`, but kysely's types are
 * invariant in the database type, so a `Kysely<XDB>` is not a `Kysely<PlatformTables>` to the compiler.
 * At run time it is the same instance and the platform tables are all there (the platform migration
 * creates them in every service database), so this is only a narrower view, checked at the call site:
 * a database type that lacks a platform table does not compile.
 */
export function platformView<DB extends PlatformTables>(db: Kysely<DB>): Kysely<PlatformTables>;
export function platformView(db: Kysely<PlatformTables>): Kysely<PlatformTables> {
  return db;
}
