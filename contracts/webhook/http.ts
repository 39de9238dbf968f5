import { z } from 'zod';
import { safeDatetime, safeJson, safeText, safeUrl } from '../common/text.ts';
import { idParams, PlatformId } from '../common/ids.ts';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import {
  DEFAULT_PAYLOAD_FORMAT,
  EndpointDisabledReasonSchema,
  EventTypeFilterSchema,
  filterOnlyMatchesCredentialEvents,
  WebhookHeadersSchema,
  WebhookPayloadFormatSchema,
} from './events.ts';

const SERVICE = 'webhook-dispatcher';
export const MAX_ENDPOINT_TIMEOUT_MS = 15_000;

export const WebhookEndpointSchema = z
  .object({
    id: safeText(),
    object: z.literal('webhook_endpoint'),
    partner_id: safeText(),
    url: safeText(),
    description: safeText(),
    event_types: z.array(safeText()),
    enabled: z.boolean(),
    disabled_reason: EndpointDisabledReasonSchema.nullable(),
    rate_limit_per_s: z.number().nullable(),
    timeout_ms: z.number().int(),
    headers: z.record(safeText(), safeText()),
    payload_format: WebhookPayloadFormatSchema,
    integration_id: safeText()
      .nullable()
      .describe("The integration whose field mappings shape this endpoint's deliveries (null: the event is delivered unmapped)"),
    version: z.number().int().describe('Stream sequence of the last event applied to this endpoint'),
    created_at: safeText(),
    updated_at: safeText(),
    needs_attention: z
      .object({
        reason: z.enum(['secret_unreadable']),
        key_id: safeText().nullable().describe('Key id the sealed secret names (null: sealed before key ids)'),
        detail: safeText(),
      })
      .nullable()
      .optional()
      .describe(
        'Set when the platform cannot use the endpoint as configured: `secret_unreadable` means its signing secret cannot be decrypted with the configured keys, so nothing is delivered to it until the secret is rotated or the key is configured again',
      ),
  })
  .meta({ id: 'WebhookEndpoint' });
export type WebhookEndpoint = z.output<typeof WebhookEndpointSchema>;

export const WebhookEndpointWithSecretSchema = WebhookEndpointSchema.extend({ secret: safeText() }).meta({
  id: 'WebhookEndpointWithSecret',
});

const EventTypesField = z
  .array(
    EventTypeFilterSchema.refine((f) => !filterOnlyMatchesCredentialEvents(f), {
      message: 'credential events (webhook_endpoint.*, api_key.*, oauth_client.*) are never delivered by webhook',
    }),
  )
  .min(1)
  .max(100);
const RateLimitField = z.number().min(0.1).max(10_000).nullable();
const TimeoutField = z.number().int().min(100).max(MAX_ENDPOINT_TIMEOUT_MS);

export const CreateWebhookEndpointBody = z
  .object({
    url: safeUrl({ protocol: /^https?$/ }).max(2048),
    event_types: EventTypesField,
    description: safeText().trim().max(500).default(''),
    rate_limit_per_s: RateLimitField.optional(),
    timeout_ms: TimeoutField.optional(),
    headers: WebhookHeadersSchema.default({}),
    payload_format: WebhookPayloadFormatSchema.default(DEFAULT_PAYLOAD_FORMAT),
    integration_id: PlatformId('int')
      .nullable()
      .default(null)
      .describe("An integration of the endpoint's partner: its field mappings apply"),
    partner_id: PlatformId('prt').optional().describe('Owner; required for admin credentials, ignored for partners'),
  })
  .strict()
  .meta({ id: 'CreateWebhookEndpoint' });
export type CreateWebhookEndpoint = z.output<typeof CreateWebhookEndpointBody>;

export const UpdateWebhookEndpointBody = z
  .object({
    url: safeUrl({ protocol: /^https?$/ })
      .max(2048)
      .optional(),
    event_types: EventTypesField.optional(),
    description: safeText().trim().max(500).optional(),
    rate_limit_per_s: RateLimitField.optional(),
    timeout_ms: TimeoutField.optional(),
    headers: WebhookHeadersSchema.optional(),
    payload_format: WebhookPayloadFormatSchema.optional(),
    integration_id: PlatformId('int').nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field is required' })
  .meta({ id: 'UpdateWebhookEndpoint' });
export type UpdateWebhookEndpoint = z.output<typeof UpdateWebhookEndpointBody>;

export const WebhookSecretSchema = z
  .object({
    secret: safeText(),
    previous_secret: safeText().nullable(),
    previous_expires_at: safeText().nullable(),
  })
  .meta({ id: 'WebhookSecret' });

export const DeliveryStatusSchema = z.enum(['pending', 'succeeded', 'failed']);

export const DeliverySchema = z
  .object({
    id: safeText(),
    object: z.literal('webhook_delivery'),
    endpoint_id: safeText(),
    event_id: safeText(),
    event_type: safeText(),
    status: DeliveryStatusSchema,
    attempts: z.number().int(),
    next_attempt_at: safeText().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: safeText().nullable(),
    replay_job_id: safeText().nullable(),
    created_at: safeText(),
    succeeded_at: safeText().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });
export type Delivery = z.output<typeof DeliverySchema>;

export const AttemptSchema = z
  .object({
    id: safeText(),
    object: z.literal('webhook_attempt'),
    delivery_id: safeText(),
    attempt: z.number().int(),
    started_at: safeText(),
    outcome: z.enum(['succeeded', 'failed']),
    status_code: z.number().int().nullable(),
    latency_ms: z.number(),
    response_excerpt: safeText().nullable().describe('First 4 KiB of the response body'),
    error_class: safeText().nullable().describe('timeout, connect_error, http_error, ssrf_refused, mapping_error, ...'),
    mapping_version: z
      .number()
      .int()
      .nullable()
      .describe("The version of the endpoint's integration mapping that shaped the body (null: delivered unmapped)"),
  })
  .meta({ id: 'WebhookAttempt' });
export type Attempt = z.output<typeof AttemptSchema>;

export const WebhookJobSchema = z
  .object({
    id: safeText(),
    object: z.literal('webhook_job'),
    kind: z.enum(['resend', 'recover', 'replay']),
    endpoint_id: safeText(),
    status: z.enum(['queued', 'running', 'completed', 'failed']),
    total: z.number().int().nullable(),
    processed: z.number().int(),
    deliveries_created: z.number().int().describe("New deliveries (new webhook-ids) the job made: a replay's copies"),
    deliveries_reused: z
      .number()
      .int()
      .describe('Existing deliveries (same webhook-id) the job made due again or found already queued: resend, recover'),
    error: safeText().nullable(),
    params: z.record(safeText(), safeJson()),
    created_at: safeText(),
    finished_at: safeText().nullable(),
  })
  .meta({ id: 'WebhookJob' });
export type WebhookJob = z.output<typeof WebhookJobSchema>;

export const RecoverBody = z
  .object({ since: safeDatetime({ offset: true }), until: safeDatetime({ offset: true }).optional() })
  .strict()
  .meta({ id: 'RecoverFailedDeliveries' });

export const ReplayBody = z
  .object({
    since: safeDatetime({ offset: true }),
    until: safeDatetime({ offset: true }).optional(),
    event_types: EventTypesField.optional().describe("Defaults to the endpoint's own filter"),
  })
  .strict()
  .meta({ id: 'ReplayEvents' });

export const EventTypeInfoSchema = z
  .object({
    type: safeText(),
    version: z.number().int(),
    description: safeText(),
    category: safeText(),
    origin: z.enum(['external', 'domain']),
    deliverable: z.boolean().describe('Whether webhook endpoints can receive it (credential events never are)'),
    schema: z.record(safeText(), safeJson()).describe('JSON Schema of `data`'),
  })
  .meta({ id: 'EventTypeInfo' });

const TAG = 'Webhooks';

export const webhookRoutes = defineRoutes([
  {
    operationId: 'createWebhookEndpoint',
    method: 'POST',
    path: '/v1/webhook-endpoints',
    summary: 'Register a webhook endpoint; the answer holds its signing secret',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.create',
    scope: 'write:webhooks',
    body: CreateWebhookEndpointBody,
    success: { status: 201, schema: WebhookEndpointWithSecretSchema },
  },
  {
    operationId: 'listWebhookEndpoints',
    method: 'GET',
    path: '/v1/webhook-endpoints',
    summary: 'List webhook endpoints (a partner sees only its own; admins may filter by partner_id)',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.list',
    scope: 'read:webhooks',
    query: PageQuerySchema.extend({ partner_id: PlatformId('prt').optional() }),
    success: { status: 200, schema: pageOf(WebhookEndpointSchema) },
  },
  {
    operationId: 'getWebhookEndpoint',
    method: 'GET',
    path: '/v1/webhook-endpoints/:id',
    summary: 'Get a webhook endpoint',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.get',
    scope: 'read:webhooks',
    params: idParams('wep'),
    success: { status: 200, schema: WebhookEndpointSchema },
  },
  {
    operationId: 'updateWebhookEndpoint',
    method: 'PATCH',
    path: '/v1/webhook-endpoints/:id',
    summary: 'Change a webhook endpoint (URL, filter, limits, headers, payload format, enabled)',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.update',
    scope: 'write:webhooks',
    params: idParams('wep'),
    body: UpdateWebhookEndpointBody,
    success: { status: 200, schema: WebhookEndpointSchema },
    errors: [409],
  },
  {
    operationId: 'deleteWebhookEndpoint',
    method: 'DELETE',
    path: '/v1/webhook-endpoints/:id',
    summary: 'Delete a webhook endpoint',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.delete',
    scope: 'write:webhooks',
    params: idParams('wep'),
    success: { status: 204, schema: null },
  },
  {
    operationId: 'getWebhookEndpointSecret',
    method: 'GET',
    path: '/v1/webhook-endpoints/:id/secret',
    summary: 'Get the signing secret (and the previous one while it is still valid)',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.secret',
    scope: 'write:webhooks',
    params: idParams('wep'),
    success: { status: 200, schema: WebhookSecretSchema },
  },
  {
    operationId: 'rotateWebhookEndpointSecret',
    method: 'POST',
    path: '/v1/webhook-endpoints/:id/secret/rotate',
    summary: 'Rotate the signing secret; the previous one stays valid for 24 h',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.rotate-secret',
    scope: 'write:webhooks',
    params: idParams('wep'),
    success: { status: 200, schema: WebhookSecretSchema },
  },
  {
    operationId: 'listWebhookDeliveries',
    method: 'GET',
    path: '/v1/webhook-endpoints/:id/deliveries',
    summary: 'Deliveries to an endpoint, newest first (filter by status, event type and time)',
    tag: TAG,
    service: SERVICE,
    pattern: 'deliveries.list',
    scope: 'read:webhooks',
    params: idParams('wep'),
    query: PageQuerySchema.extend({
      status: DeliveryStatusSchema.optional(),
      event_type: safeText().max(128).optional(),
      since: safeDatetime({ offset: true }).optional(),
      until: safeDatetime({ offset: true }).optional(),
    }),
    success: { status: 200, schema: pageOf(DeliverySchema) },
  },
  {
    operationId: 'getWebhookDelivery',
    method: 'GET',
    path: '/v1/deliveries/:id',
    summary: 'Get a delivery',
    tag: TAG,
    service: SERVICE,
    pattern: 'deliveries.get',
    scope: 'read:webhooks',
    params: idParams('msg'),
    success: { status: 200, schema: DeliverySchema },
  },
  {
    operationId: 'listWebhookAttempts',
    method: 'GET',
    path: '/v1/deliveries/:id/attempts',
    summary: 'Every attempt of a delivery (time, status code, latency, response excerpt, error class)',
    tag: TAG,
    service: SERVICE,
    pattern: 'deliveries.attempts',
    scope: 'read:webhooks',
    params: idParams('msg'),
    query: PageQuerySchema,
    success: { status: 200, schema: pageOf(AttemptSchema) },
  },
  {
    operationId: 'resendWebhookDelivery',
    method: 'POST',
    path: '/v1/deliveries/:id/resend',
    summary: 'Send a delivery once more (a tracked job)',
    tag: TAG,
    service: SERVICE,
    pattern: 'deliveries.resend',
    scope: 'write:webhooks',
    params: idParams('msg'),
    success: { status: 202, schema: WebhookJobSchema },
  },
  {
    operationId: 'recoverWebhookDeliveries',
    method: 'POST',
    path: '/v1/webhook-endpoints/:id/recover',
    summary: 'Resend every failed delivery of an endpoint since a time (a tracked job)',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.recover',
    scope: 'write:webhooks',
    params: idParams('wep'),
    body: RecoverBody,
    success: { status: 202, schema: WebhookJobSchema },
  },
  {
    operationId: 'replayWebhookEvents',
    method: 'POST',
    path: '/v1/webhook-endpoints/:id/replay',
    summary: 'Re-deliver every matching event of a time range to this endpoint (a tracked job)',
    tag: TAG,
    service: SERVICE,
    pattern: 'endpoints.replay',
    scope: 'write:webhooks',
    params: idParams('wep'),
    body: ReplayBody,
    success: { status: 202, schema: WebhookJobSchema },
  },
  {
    operationId: 'getWebhookJob',
    method: 'GET',
    path: '/v1/webhook-jobs/:id',
    summary: 'Progress of a resend, recover or replay job',
    tag: TAG,
    service: SERVICE,
    pattern: 'jobs.get',
    scope: 'read:webhooks',
    params: idParams('whjob'),
    success: { status: 200, schema: WebhookJobSchema },
  },
  {
    operationId: 'listEventTypes',
    method: 'GET',
    path: '/v1/event-types',
    summary: "The event catalog: every type with its data's JSON Schema",
    tag: TAG,
    service: SERVICE,
    pattern: 'event-types.list',
    scope: 'read:*',
    public: false,
    success: { status: 200, schema: z.object({ data: z.array(EventTypeInfoSchema) }) },
  },
]);
