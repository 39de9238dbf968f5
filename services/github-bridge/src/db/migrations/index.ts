import type { NamedMigrations } from '@pep/db';
import * as createBridgeTables from './1795400100000-CreateBridgeTables.ts';

export const bridgeMigrations: NamedMigrations = { '1795400100000-CreateBridgeTables': createBridgeTables };
