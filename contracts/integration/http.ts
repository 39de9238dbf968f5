import { z } from 'zod';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { IntegrationHealthSchema } from './events.ts';

export const IntegrationSchema = z
  .object({
    id: z.string(),
    object: z.literal('integration'),
    partner_id: z.string(),
    application_id: z.string(),
    customer_id: z.string(),
    status: z.enum(['connected', 'disconnected']),
    health: z.object({
      status: IntegrationHealthSchema,
      last_checked_at: z.string().nullable(),
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
      .array(z.object({ message: z.string(), count: z.number().int(), last_seen_at: z.string() }))
      .describe('The last distinct errors (most recent first) with how often each occurred'),
    connected_at: z.string(),
    disconnected_at: z.string().nullable(),
    version: z.number().int(),
  })
  .meta({ id: 'Integration' });
export type Integration = z.output<typeof IntegrationSchema>;

export const InstallIntegrationBody = z
  .object({
    application_id: z.string().min(1).max(64),
    customer_id: z.string().min(1).max(128),
  })
  .strict()
  .meta({ id: 'InstallIntegration' });

export const UninstallIntegrationBody = z
  .object({ reason: z.enum(['uninstalled', 'revoked', 'expired', 'other']).default('uninstalled') })
  .strict()
  .meta({ id: 'UninstallIntegration' });

const IdParams = z.object({ id: z.string().min(1).max(64) });
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
      application_id: z.string().max(64).optional(),
      health: IntegrationHealthSchema.optional(),
      partner_id: z.string().max(64).optional(),
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
    params: IdParams,
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
    params: IdParams,
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
    params: IdParams,
    success: { status: 200, schema: IntegrationSchema },
    errors: [409],
  },
]);
