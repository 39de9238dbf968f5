import type { NamedMigrations } from '@pep/db';
import * as webhookTables from './1763849000000-WebhookTables.ts';
import * as exhaustedOutbox from './1763935000000-ExhaustedOutbox.ts';
import * as endpointPayloadFormat from './1796115700000-EndpointPayloadFormat.ts';
import * as jobDeliveriesReused from './1796117323335-JobDeliveriesReused.ts';
import * as integrationMappings from './1796120000000-IntegrationMappings.ts';
import * as eventOutbox from './1796130000000-EventOutbox.ts';

export const dispatcherMigrations: NamedMigrations = {
  '1763849000000-WebhookTables': webhookTables,
  '1763935000000-ExhaustedOutbox': exhaustedOutbox,
  '1796115700000-EndpointPayloadFormat': endpointPayloadFormat,
  '1796117323335-JobDeliveriesReused': jobDeliveriesReused,
  '1796120000000-IntegrationMappings': integrationMappings,
  '1796130000000-EventOutbox': eventOutbox,
};
