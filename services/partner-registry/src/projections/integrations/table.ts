import type { IntegrationHealth } from '@pep/contracts';
import type { Jsonb } from '@pep/db';
import type { IntegrationState } from '../../domain/integration/integration.ts';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const INTEGRATIONS_PROJECTION = 'integrations';

export interface IntegrationsTable {
  id: string;
  partner_id: string;
  application_id: string;
  status: 'connected' | 'disconnected';
  health: IntegrationHealth;
  doc: Jsonb<IntegrationState>;
}

/** Scheduling state of the health checker (operational, not a projection: it is not rebuilt from events). */
export interface IntegrationHealthScheduleTable {
  integration_id: string;
  next_check_at: Date;
}

export interface IntegrationsTables {
  integrations: IntegrationsTable;
  integration_health_schedule: IntegrationHealthScheduleTable;
}
