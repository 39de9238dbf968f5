import type { PlatformTables } from '@pep/db';
import type { NotificationTables } from '../notifications/table.ts';
import type { ApplicationsTables } from '../projections/applications/table.ts';
import type { IntegrationsTables } from '../projections/integrations/table.ts';
import type { IntegrationTrafficTables } from '../projections/integration-traffic/table.ts';
import type { PartnersTables } from '../projections/partners/table.ts';
import type { TicketsTables } from '../projections/tickets/table.ts';
import type { ApiKeysTables } from '../projections/identity-api-keys/table.ts';
import type { OAuthClientsTables } from '../projections/identity-oauth-clients/table.ts';
import type { PartnerUsersTables } from '../projections/partner-users/table.ts';
import type { SignInFailuresTables } from '../app/sign-in-failures-table.ts';
import type { StatsTables } from '../projections/stats/table.ts';

/** Every table of the registry's database; each read model contributes its own tables (one line each). */
export interface RegistryDB
  extends PlatformTables,
    PartnersTables,
    ApplicationsTables,
    IntegrationsTables,
    IntegrationTrafficTables,
    TicketsTables,
    NotificationTables,
    ApiKeysTables,
    OAuthClientsTables,
    PartnerUsersTables,
    SignInFailuresTables,
    StatsTables {}
