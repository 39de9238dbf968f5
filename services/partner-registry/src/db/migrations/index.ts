import type { NamedMigrations } from '@pep/db';
import { CreatePartners } from './1763848800000-CreatePartners.ts';
import { CreateApiKeys } from './1763852400000-CreateApiKeys.ts';
import { CreateOAuthClients } from './1763852400001-CreateOAuthClients.ts';
import { CreatePartnerContactsAndAgreements } from './1763860000000-CreatePartnerContactsAndAgreements.ts';
import { CreateApplications } from './1763860000100-CreateApplications.ts';
import { CreateIntegrations } from './1763860000200-CreateIntegrations.ts';
import { CreateIntegrationTraffic } from './1796130000100-CreateIntegrationTraffic.ts';
import { CreateTickets } from './1763860000300-CreateTickets.ts';
import { CreateSentEmails } from './1763860000400-CreateSentEmails.ts';
import { CreatePartnerUsers } from './1796126526194-CreatePartnerUsers.ts';
import { CreateSignInFailures } from './1796126526195-CreateSignInFailures.ts';
import { CreateStatsDaily } from './1796140579651-CreateStatsDaily.ts';

/**
 * The registry's migrations, per area. Each area adds its own list here (one line), named
 * `<epoch-ms>-<PascalName>` so they run in time order across areas. A new migration must sort after every
 * existing one (kysely refuses to run one that sorts before an already-applied migration).
 */
export const partnerMigrations: NamedMigrations = {
  '1763848800000-CreatePartners': CreatePartners,
  '1763860000000-CreatePartnerContactsAndAgreements': CreatePartnerContactsAndAgreements,
};

export const applicationMigrations: NamedMigrations = {
  '1763860000100-CreateApplications': CreateApplications,
};

export const integrationMigrations: NamedMigrations = {
  '1763860000200-CreateIntegrations': CreateIntegrations,
  '1796130000100-CreateIntegrationTraffic': CreateIntegrationTraffic,
};

export const supportMigrations: NamedMigrations = {
  '1763860000300-CreateTickets': CreateTickets,
};

export const notificationMigrations: NamedMigrations = {
  '1763860000400-CreateSentEmails': CreateSentEmails,
};

/** The identity read models (API keys, OAuth clients). */
export const identityMigrations: NamedMigrations = {
  '1763852400000-CreateApiKeys': CreateApiKeys,
  '1763852400001-CreateOAuthClients': CreateOAuthClients,
};

/** Portal accounts: the partner users read model and the sign-in throttle. */
export const accountMigrations: NamedMigrations = {
  '1796126526194-CreatePartnerUsers': CreatePartnerUsers,
  '1796126526195-CreateSignInFailures': CreateSignInFailures,
};

/** Statistics (issue 14): the per-partner, per-day figures folded from the stream. */
export const statsMigrations: NamedMigrations = {
  '1796140579651-CreateStatsDaily': CreateStatsDaily,
};

export const registryMigrations: NamedMigrations = {
  ...partnerMigrations,
  ...applicationMigrations,
  ...integrationMigrations,
  ...supportMigrations,
  ...notificationMigrations,
  ...identityMigrations,
  ...accountMigrations,
  ...statsMigrations,
};
