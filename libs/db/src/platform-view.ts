import type { Kysely, Transaction } from 'kysely';
import type { PlatformTables } from './migrations.ts';

/**
 * A service's database (or open transaction) seen as the platform's own tables only — checkpoints, dead letters,
 * outbox — for the libraries that keep them. Only a database whose type has those tables is accepted (every
 * service DB extends `PlatformTables`, see `platformMigrations`); the value is the same connection, unchanged.
 * kysely's `Kysely<DB>` is invariant in DB, so a wider DB does not narrow by assignment: this is the one place
 * that says the narrowing is sound.
 */
export function platformView<DB extends PlatformTables>(db: Transaction<DB>): Transaction<PlatformTables>;
export function platformView<DB extends PlatformTables>(db: Kysely<DB>): Kysely<PlatformTables>;
export function platformView<DB>(db: Kysely<DB>): Kysely<DB> {
  return db;
}
