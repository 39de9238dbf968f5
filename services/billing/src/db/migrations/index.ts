import type { NamedMigrations } from '@pep/db';
import * as createMeteringTables from './1796100000000-CreateMeteringTables.ts';

export const billingMigrations: NamedMigrations = {
  '1796100000000-CreateMeteringTables': createMeteringTables,
};
