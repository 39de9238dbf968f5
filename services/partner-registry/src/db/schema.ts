import type { PlatformTables } from '@pep/db';
import type { PartnersTables } from '../projections/partners/index.ts';

/** Every table of the registry's database; each read model contributes its own tables (one line each). */
export interface RegistryDB extends PlatformTables, PartnersTables {}
