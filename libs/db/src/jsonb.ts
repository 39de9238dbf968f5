import type { ColumnType } from 'kysely';

/** A jsonb column holding `T`: written as its JSON text (`JSON.stringify`), read back parsed by pg. */
export type Jsonb<T> = ColumnType<T, string, string>;
