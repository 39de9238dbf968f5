import type { NamedMigrations } from '@pep/db';
import * as createMarketplaceTables from './1796117500000-CreateMarketplaceTables.ts';

export const marketplaceMigrations: NamedMigrations = { '1796117500000-CreateMarketplaceTables': createMarketplaceTables };
