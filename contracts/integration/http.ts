import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { ExternalId, idParams, PlatformId } from '../common/ids.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { IntegrationHealthSchema } from './events.ts';

export const IntegrationSchema = z
  .object({
    id: safeText(),
    object: z.literal('integration'),
    partner_id: safeText(),
    application_id: safeText(),
    customer_id: safeText(),
    status: z.enum(['connected', 'disconnected']),
    health: z.object({
      status: IntegrationHealthSchema,
      last_checked_at: safeText().nullable(),
      last_latency_ms: z.number().nullable(),
      consecutive_failures: z.number().int(),
    }),
    metrics: z.object({
      calls: z.number().int().describe('Health check calls made'),
      errors: z.number().int(),
      error_rate: z.number().describe('errors / calls (0 when no calls)'),
      avg_latency_ms: z.number().nullable(),
    }),
    recent_errors: z
      .array(z.object({ message: safeText(), count: z.number().int(), last_seen_at: safeText() }))
      .describe('The last distinct errors (most recent first) with how often each occurred'),
    connected_at: safeText(),
    disconnected_at: safeText().nullable(),
    version: z.number().int(),
  })
  .meta({ id: 'Integration' });
export type Integration = z.output<typeof IntegrationSchema>;

export const InstallIntegrationBody = z
  .object({
    application_id: PlatformId('app'),
    customer_id: ExternalId(),
  })
  .strict()
  .meta({ id: 'InstallIntegration' });

export const UninstallIntegrationBody = z
  .object({ reason: z.enum(['uninstalled', 'revoked', 'expired', 'other']).default('uninstalled') })
  .strict()
  .meta({ id: 'UninstallIntegration' });

const base = { tag: 'Integrations', service: 'partner-registry' } as const;

export const integrationRoutes = defineRoutes([
  {
    ...base,
    operationId: 'installIntegration',
    method: 'POST',
    path: '/v1/integrations',
    summary: 'Install a published application for a customer (creates a connected integration)',
    pattern: 'integrations.install',
    scope: 'write:integrations',
    body: InstallIntegrationBody,
    success: { status: 201, schema: IntegrationSchema },
    errors: [409],
  },
  {
    ...base,
    operationId: 'listIntegrations',
    method: 'GET',
    path: '/v1/integrations',
    summary: "List integrations of the partner's applications",
    pattern: 'integrations.list',
    scope: 'read:integrations',
    query: PageQuerySchema.extend({
      application_id: PlatformId('app').optional(),
      health: IntegrationHealthSchema.optional(),
      partner_id: PlatformId('prt').optional(),
    }),
    success: { status: 200, schema: pageOf(IntegrationSchema) },
  },
  {
    ...base,
    operationId: 'getIntegration',
    method: 'GET',
    path: '/v1/integrations/:id',
    summary: 'Get an integration with its health, metrics and recent errors',
    pattern: 'integrations.get',
    scope: 'read:integrations',
    params: idParams('int'),
    success: { status: 200, schema: IntegrationSchema },
  },
  {
    ...base,
    operationId: 'checkIntegration',
    method: 'POST',
    path: '/v1/integrations/:id/check',
    summary: 'Run a health check now',
    pattern: 'integrations.check',
    scope: 'write:integrations',
    params: idParams('int'),
    success: { status: 200, schema: IntegrationSchema },
    errors: [409],
  },
  {
    ...base,
    operationId: 'uninstallIntegration',
    method: 'DELETE',
    path: '/v1/integrations/:id',
    summary: 'Uninstall (disconnect) an integration',
    pattern: 'integrations.uninstall',
    scope: 'write:integrations',
    params: idParams('int'),
    success: { status: 200, schema: IntegrationSchema },
    errors: [409],
  },
]);
