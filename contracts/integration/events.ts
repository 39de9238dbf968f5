import { z } from 'zod';
import { safeDatetime, safeText } from '../common/text.ts';
import { IntegrationConnected, IntegrationDisconnected, IntegrationFailed } from '../business/integration.ts';
import { defineEvent } from '../catalog/registry.ts';

/**
 * The integration aggregate's events. Connecting, disconnecting and failing REUSE the business catalog's
 * `integration.connected/disconnected/failed` definitions (re-exported here, never defined twice); the
 * registry appends them to the integration's own subject. Only the health check is registry-specific.
 */
export { IntegrationConnected, IntegrationDisconnected, IntegrationFailed };

export const IntegrationHealthSchema = z.enum(['unknown', 'up', 'degraded', 'down']);
export type IntegrationHealth = z.output<typeof IntegrationHealthSchema>;

export const IntegrationHealthChecked = defineEvent({
  origin: 'domain',
  aggregate: 'integration',
  category: 'integration',
  type: 'integration.health_checked',
  version: 1,
  description: "A scheduled (or on-demand) health check of the integration's application health URL.",
  data: z.object({
    integration_id: safeText(),
    application_id: safeText(),
    status: IntegrationHealthSchema.exclude(['unknown']),
    previous_status: IntegrationHealthSchema,
    latency_ms: z.number().int().min(0),
    http_status: z.number().int().nullable(),
    error: safeText().nullable(),
    checked_at: safeDatetime({ offset: true }),
  }),
});
