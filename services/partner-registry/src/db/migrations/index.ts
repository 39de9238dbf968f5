import type { NamedMigrations } from '@pep/db';
import { CreatePartners } from './1763848800000-CreatePartners.ts';
import { CreatePartnerContactsAndAgreements } from './1763852400000-CreatePartnerContactsAndAgreements.ts';
import { identityMigrations } from '../../projections/identity-migrations/index.ts';

/**
 * The registry's migrations, per area. Each area adds its own list here (one line), named
 * `<epoch-ms>-<PascalName>` so they run in time order across areas.
 */
export const partnerMigrations: NamedMigrations = {
  '1763848800000-CreatePartners': CreatePartners,
  '1763852400000-CreatePartnerContactsAndAgreements': CreatePartnerContactsAndAgreements,
};

export const registryMigrations: NamedMigrations = {
  ...partnerMigrations,
  ...identityMigrations,
};
