import type { AggregateKind } from '@pep/events';
import { INTEGRATIONS_PROJECTION } from '../../projections/integrations/table.ts';
import { evolveIntegration, initialIntegration, type IntegrationState } from './integration.ts';

/** An integration, its health and field mapping, as the command bus loads and appends it (`<prefix>.agg.integration.<id>`); commands wait for its read model. */
export const integrationAggregate: AggregateKind<IntegrationState | undefined> = {
  kind: 'integration',
  initial: initialIntegration,
  evolve: evolveIntegration,
  projection: INTEGRATIONS_PROJECTION,
};
