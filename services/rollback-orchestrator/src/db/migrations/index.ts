import type { NamedMigrations } from '@pep/db';
import * as createRollbackTables from './1795400000000-CreateRollbackTables.ts';

export const orchestratorMigrations: NamedMigrations = {
  '1795400000000-CreateRollbackTables': createRollbackTables,
};
