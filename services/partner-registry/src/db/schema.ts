import type { PlatformTables } from '@pep/db';
import type { NotificationTables } from '../notifications/notifier.ts';
import type { ApplicationsTables } from '../projections/applications/index.ts';
import type { IntegrationsTables } from '../projections/integrations/index.ts';
import type { PartnersTables } from '../projections/partners/index.ts';
import type { TicketsTables } from '../projections/tickets/index.ts';
import type { ApiKeysTables } from '../projections/identity-api-keys/index.ts';
import type { OAuthClientsTables } from '../projections/identity-oauth-clients/index.ts';
import type { PartnerUsersTables } from '../projections/partner-users/index.ts';
import type { SignInFailuresTables } from '../app/sign-in-throttle.ts';

/** Every table of the registry's database; each read model contributes its own tables (one line each). */
export interface RegistryDB
  extends PlatformTables,
    PartnersTables,
    ApplicationsTables,
    IntegrationsTables,
    TicketsTables,
    NotificationTables,
    ApiKeysTables,
    OAuthClientsTables,
    PartnerUsersTables,
    SignInFailuresTables {}
