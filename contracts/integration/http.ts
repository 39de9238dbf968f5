import { z } from 'zod';
import { safeDatetime, safeJson, safeText } from '../common/text.ts';
import { ExternalId, idParams, PlatformId } from '../common/ids.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { DeliveryErrorClassSchema, IntegrationHealthSchema, MappingErrorClassSchema, MappingEventTypeSchema } from './events.ts';

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

export const IntegrationMappingSchema = z
  .object({
    object: z.literal('integration_mapping'),
    integration_id: safeText(),
    event_type: MappingEventTypeSchema,
    version: z.number().int().describe("Counts the saves of this event type's mapping from 1; a delivery records the version it used"),
    expression: safeText().describe("JSONata over the event's `data` (`$`); `$event` holds id, type, time, source and subject"),
    updated_at: safeText(),
  })
  .meta({ id: 'IntegrationMapping' });
export type IntegrationMapping = z.output<typeof IntegrationMappingSchema>;

export const SetIntegrationMappingBody = z
  .object({
    event_type: MappingEventTypeSchema,
    expression: safeText().min(1).max(10_000),
  })
  .strict()
  .meta({ id: 'SetIntegrationMapping' });

export const RemoveIntegrationMappingParams = idParams('int').extend({ event_type: MappingEventTypeSchema });

/** A sample event for a preview: its type and data (id and time are filled in when absent). */
export const MappingSampleEventSchema = z
  .object({
    id: safeText().max(128).optional(),
    type: safeText()
      .max(128)
      .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be an event type'),
    time: safeDatetime({ offset: true }).optional(),
    source: safeText().max(256).optional(),
    subject: safeText().max(256).optional(),
    data: safeJson(),
  })
  .strict();

export const PreviewIntegrationMappingBody = z
  .object({
    event: MappingSampleEventSchema.optional().describe('A sample event (or give event_id)'),
    event_id: safeText()
      .max(128)
      .regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'must be an event id')
      .optional()
      .describe("A stored event of the partner's (one the platform delivered by webhook) to preview instead of a sample"),
    expression: safeText()
      .min(1)
      .max(10_000)
      .optional()
      .describe("An unsaved expression to try; without it, the integration's saved mapping for the event's type"),
  })
  .strict()
  .refine((b) => (b.event === undefined) !== (b.event_id === undefined), {
    message: 'give either event (a sample) or event_id (a stored event), not both',
    path: ['event'],
  })
  .meta({ id: 'PreviewIntegrationMapping' });

export const MappingPreviewSchema = z
  .object({
    object: z.literal('mapping_preview'),
    event_type: safeText(),
    mapping: z
      .object({ event_type: MappingEventTypeSchema, version: z.number().int().nullable() })
      .nullable()
      .describe('The mapping applied (version null for an unsaved expression); null when none applies and the event goes unmapped'),
    ok: z.boolean(),
    payload: safeJson().describe('The body a delivery would carry (the mapped data, or the unmapped event data when no mapping applies)'),
    error: z
      .object({ class: MappingErrorClassSchema, code: safeText(), message: safeText(), position: z.number().int().nullable() })
      .nullable(),
  })
  .meta({ id: 'MappingPreview' });

export const IntegrationTrafficQuery = z.object({
  from: safeDatetime({ offset: true }).optional().describe('Start (default: 24 hours before to)'),
  to: safeDatetime({ offset: true })
    .optional()
    .describe('End (exclusive; default: the end of the current hour); at most 31 days after from'),
});

export const IntegrationTrafficHourSchema = z
  .object({
    hour: safeText().describe('Start of the hour (UTC)'),
    calls: z.number().int().describe("Webhook attempts to the integration's endpoints (mapping failures included: nothing was sent)"),
    succeeded: z.number().int(),
    success_rate: z.number().describe('succeeded / calls'),
    latency_ms: z
      .object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() })
      .describe('Of attempts that were sent'),
    errors: z
      .record(safeText(), z.number().int())
      .describe(
        'Failed attempts by class: timeout, tls_error, connect_error, http_4xx, http_5xx, mapping_error, ssrf_refused, network_error, ...',
      ),
  })
  .meta({ id: 'IntegrationTrafficHour' });

export const IntegrationTrafficSchema = z
  .object({
    object: z.literal('integration_traffic'),
    integration_id: safeText(),
    from: safeText(),
    to: safeText(),
    data: z.array(IntegrationTrafficHourSchema).describe('One entry per hour that had traffic, oldest first'),
  })
  .meta({ id: 'IntegrationTraffic' });

export const IntegrationMetricsHourSchema = z
  .object({
    hour: safeText().describe('Start of the hour (UTC)'),
    calls: z.number().int().describe('webhook_attempts + api_requests'),
    webhook_attempts: z
      .number()
      .int()
      .describe("Webhook attempts to the integration's endpoints (mapping failures included: nothing was sent)"),
    api_requests: z.number().int().describe("API requests made with the credentials of the integration's application (its OAuth clients)"),
    succeeded: z.number().int().describe('Successful webhook attempts (2xx) plus API requests answered below 400'),
    success_rate: z.number().describe('succeeded / calls (0 when no calls)'),
    latency_ms: z
      .object({ p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() })
      .describe(
        'Of the webhook attempts that were sent, interpolated linearly inside the buckets of DELIVERY_LATENCY_BUCKETS_MS (25, 50, ... 10000 ms; above the last bound reads as 10000): an estimate, exact only to the bucket',
      ),
    errors: z
      .record(safeText(), z.number().int())
      .describe(
        'Failed calls by class: timeout, tls, network, http_4xx, http_5xx, rate_limited, mapping (webhook attempts), api_error (API answers of 400 and above)',
      ),
  })
  .meta({ id: 'IntegrationMetricsHour' });

export const IntegrationMetricsSchema = z
  .object({
    object: z.literal('integration_metrics'),
    integration_id: safeText(),
    from: safeText(),
    to: safeText(),
    data: z.array(IntegrationMetricsHourSchema).describe('One entry per hour that had traffic, oldest first'),
  })
  .meta({ id: 'IntegrationMetrics' });

export const IntegrationErrorSchema = z
  .object({
    id: safeText().describe('The id of the event that reported it (one per failed attempt)'),
    object: z.literal('integration_error'),
    integration_id: safeText(),
    class: DeliveryErrorClassSchema,
    event_id: safeText(),
    event_type: safeText(),
    delivery_id: safeText(),
    endpoint_id: safeText(),
    attempt: z.number().int().nullable(),
    status_code: z.number().int().nullable(),
    message: safeText().nullable(),
    excerpt: safeText().nullable().describe('Up to 500 characters of the response'),
    mapping_version: z.number().int().nullable(),
    occurred_at: safeText(),
  })
  .meta({ id: 'IntegrationError' });
export type IntegrationError = z.output<typeof IntegrationErrorSchema>;

export const IntegrationErrorsQuery = PageQuerySchema.extend({
  class: DeliveryErrorClassSchema.optional(),
  event_type: safeText()
    .max(128)
    .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be an event type')
    .optional(),
  from: safeDatetime({ offset: true }).optional().describe('Occurred at or after'),
  to: safeDatetime({ offset: true }).optional().describe('Occurred before'),
});

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
  {
    ...base,
    operationId: 'setIntegrationMapping',
    method: 'PUT',
    path: '/v1/integrations/:id/mappings',
    summary: 'Save the field mapping of an event type (or wildcard); compiled first: a bad expression is 422 naming its error and position',
    pattern: 'integrations.mappings.set',
    scope: 'write:integrations',
    params: idParams('int'),
    body: SetIntegrationMappingBody,
    success: { status: 200, schema: IntegrationMappingSchema },
    errors: [409],
  },
  {
    ...base,
    operationId: 'listIntegrationMappings',
    method: 'GET',
    path: '/v1/integrations/:id/mappings',
    summary: "List the integration's current field mappings",
    pattern: 'integrations.mappings.list',
    scope: 'read:integrations',
    params: idParams('int'),
    success: { status: 200, schema: pageOf(IntegrationMappingSchema) },
  },
  {
    ...base,
    operationId: 'removeIntegrationMapping',
    method: 'DELETE',
    path: '/v1/integrations/:id/mappings/:event_type',
    summary: 'Remove the mapping of an event type (its deliveries carry the unmapped event again)',
    pattern: 'integrations.mappings.remove',
    scope: 'write:integrations',
    params: RemoveIntegrationMappingParams,
    success: { status: 200, schema: IntegrationMappingSchema },
    errors: [409],
  },
  {
    ...base,
    operationId: 'previewIntegrationMapping',
    method: 'POST',
    path: '/v1/integrations/:id/mappings/preview',
    summary: 'Show what a delivery of a sample event would carry under the saved (or a given) mapping',
    pattern: 'integrations.mappings.preview',
    scope: 'read:integrations',
    params: idParams('int'),
    body: PreviewIntegrationMappingBody,
    success: { status: 200, schema: MappingPreviewSchema },
  },
  {
    ...base,
    operationId: 'getIntegrationMetrics',
    method: 'GET',
    path: '/v1/integrations/:id/metrics',
    summary: 'Per hour, from real traffic: calls (webhook attempts and API requests), success rate, latency percentiles, error classes',
    pattern: 'integrations.metrics',
    scope: 'read:integrations',
    params: idParams('int'),
    query: IntegrationTrafficQuery,
    success: { status: 200, schema: IntegrationMetricsSchema },
  },
  {
    ...base,
    operationId: 'listIntegrationErrors',
    method: 'GET',
    path: '/v1/integrations/:id/errors',
    summary: 'Integration errors (failed attempts to its endpoints, mapping failures) with their context, newest first',
    pattern: 'integrations.errors',
    scope: 'read:integrations',
    params: idParams('int'),
    query: IntegrationErrorsQuery,
    success: { status: 200, schema: pageOf(IntegrationErrorSchema) },
  },
  {
    tag: 'Integrations',
    service: 'webhook-dispatcher',
    operationId: 'getIntegrationTraffic',
    method: 'GET',
    path: '/v1/integrations/:id/traffic',
    summary: "Per hour: webhook attempts to the integration's endpoints, success rate, latency percentiles and error classes",
    pattern: 'integrations.traffic',
    scope: 'read:integrations',
    params: idParams('int'),
    query: IntegrationTrafficQuery,
    success: { status: 200, schema: IntegrationTrafficSchema },
  },
]);
