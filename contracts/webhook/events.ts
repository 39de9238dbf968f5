import { z } from 'zod';
import { safeDatetime, safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';

/** An event-type filter entry: an exact type (`lead.created`), a prefix wildcard (`lead.*`) or `*`. */
export const EventTypeFilterSchema = safeText()
  .max(128)
  .regex(/^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/, 'must be an event type, "<prefix>.*" or "*"');

export const WebhookHeadersSchema = z
  .record(
    safeText()
      .regex(/^[A-Za-z0-9-]{1,64}$/, 'header names are letters, digits and -')
      .refine((h) => !/^(webhook-|content-|ce-|host$|traceparent$|tracestate$|user-agent$|connection$|transfer-encoding$)/i.test(h), {
        message: 'reserved header (webhook-*, content-*, ce-* and hop headers are set by the platform)',
      }),
    safeText().max(1024),
  )
  .refine((h) => Object.keys(h).length <= 20, { message: 'at most 20 custom headers' });

export const EndpointDisabledReasonSchema = z.enum(['manual', 'gone', 'failing']);

/**
 * How a delivery's HTTP request carries the event. Every format is signed per Standard Webhooks
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature` over the exact body bytes).
 * - `standard_webhooks`: the event envelope as an `application/json` body (the default).
 * - `cloudevents_structured`: the same envelope as `application/cloudevents+json` (CloudEvents HTTP binding,
 *   structured content mode).
 * - `cloudevents_binary`: the attributes as `ce-*` headers and `data` alone as the `application/json` body
 *   (CloudEvents HTTP binding, binary content mode).
 */
export const WebhookPayloadFormatSchema = z
  .enum(['standard_webhooks', 'cloudevents_structured', 'cloudevents_binary'])
  .describe('How deliveries carry the event: the JSON envelope (default), or CloudEvents structured or binary mode.');
export type WebhookPayloadFormat = z.output<typeof WebhookPayloadFormatSchema>;
export const DEFAULT_PAYLOAD_FORMAT: WebhookPayloadFormat = 'standard_webhooks';

const endpoint = { origin: 'domain', aggregate: 'webhook_endpoint', category: 'webhook' } as const;

const EndpointSettings = {
  url: safeText(),
  description: safeText(),
  event_types: z.array(EventTypeFilterSchema),
  rate_limit_per_s: z.number().nullable(),
  timeout_ms: z.number().int(),
  headers: z.record(safeText(), safeText()),
  /** Added later: events written before it have none and mean the default. */
  payload_format: WebhookPayloadFormatSchema.default(DEFAULT_PAYLOAD_FORMAT),
  /** Added later: the integration (of the same partner) whose field mappings shape this endpoint's deliveries. */
  integration_id: safeText().nullable().default(null),
};

export const WebhookEndpointCreated = defineEvent({
  ...endpoint,
  type: 'webhook_endpoint.created',
  version: 1,
  description: 'A partner registered a webhook endpoint. The signing secret is stored only encrypted (AES-256-GCM).',
  data: z.object({
    endpoint_id: safeText(),
    partner_id: safeText(),
    ...EndpointSettings,
    secret_sealed: safeText(),
  }),
});

export const WebhookEndpointUpdated = defineEvent({
  ...endpoint,
  type: 'webhook_endpoint.updated',
  version: 1,
  description: 'Endpoint settings changed; only the changed fields are present.',
  data: z.object({
    endpoint_id: safeText(),
    partner_id: safeText(),
    url: EndpointSettings.url.optional(),
    description: EndpointSettings.description.optional(),
    event_types: EndpointSettings.event_types.optional(),
    rate_limit_per_s: EndpointSettings.rate_limit_per_s.optional(),
    timeout_ms: EndpointSettings.timeout_ms.optional(),
    headers: EndpointSettings.headers.optional(),
    payload_format: WebhookPayloadFormatSchema.optional(),
    integration_id: safeText().nullable().optional(),
  }),
});

export const WebhookEndpointEnabled = defineEvent({
  ...endpoint,
  type: 'webhook_endpoint.enabled',
  version: 1,
  description: 'Deliveries to the endpoint resume.',
  data: z.object({ endpoint_id: safeText(), partner_id: safeText() }),
});

export const WebhookEndpointDisabled = defineEvent({
  ...endpoint,
  type: 'webhook_endpoint.disabled',
  version: 1,
  description:
    'Deliveries to the endpoint stop: by the partner (`manual`), because it answered 410 Gone (`gone`), or because it failed without a success for too long (`failing`).',
  data: z.object({ endpoint_id: safeText(), partner_id: safeText(), reason: EndpointDisabledReasonSchema, detail: safeText().optional() }),
});

export const WebhookEndpointSecretRotated = defineEvent({
  ...endpoint,
  type: 'webhook_endpoint.secret_rotated',
  version: 1,
  description: 'A new signing secret; the previous one stays valid (deliveries carry both signatures) until `previous_expires_at`.',
  data: z.object({
    endpoint_id: safeText(),
    partner_id: safeText(),
    secret_sealed: safeText(),
    previous_secret_sealed: safeText(),
    previous_expires_at: safeDatetime({ offset: true }),
  }),
});

export const WebhookEndpointSecretResealed = defineEvent({
  ...endpoint,
  type: 'webhook_endpoint.secret_resealed',
  version: 1,
  description:
    'The same signing secret(s), encrypted again under the current key of the keyring (`key_id`), e.g. by `npm run ops -- secrets reencrypt` after a key rotation. Signatures do not change.',
  data: z.object({
    endpoint_id: safeText(),
    partner_id: safeText(),
    key_id: safeText(),
    secret_sealed: safeText(),
    previous_secret_sealed: safeText().nullable(),
  }),
});

export const WebhookEndpointDeleted = defineEvent({
  ...endpoint,
  type: 'webhook_endpoint.deleted',
  version: 1,
  description: 'The endpoint was deleted; nothing more is delivered to it.',
  data: z.object({ endpoint_id: safeText(), partner_id: safeText() }),
});

export const WebhookDeliveryExhausted = defineEvent({
  origin: 'domain',
  aggregate: 'webhook_delivery',
  category: 'webhook',
  type: 'webhook.delivery.exhausted',
  version: 1,
  description: 'Every attempt of a delivery failed; the delivery is `failed` and can be resent or recovered.',
  data: z.object({
    delivery_id: safeText(),
    endpoint_id: safeText(),
    event_id: safeText(),
    event_type: safeText(),
    attempts: z.number().int(),
    last_status_code: z.number().int().nullable(),
    last_error: safeText().nullable(),
  }),
});

/** The fixed upper bounds (ms) of the latency histogram in `webhook.deliveries.rolled_up`; the last bucket is `+Inf`. */
export const DELIVERY_LATENCY_BUCKETS_MS = [25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

const AttemptCountsSchema = z
  .object({
    attempts: z.number().int().min(0),
    succeeded: z.number().int().min(0).describe('Deliveries that succeeded with one of these attempts'),
    exhausted: z.number().int().min(0).describe('Deliveries that failed for good with one of these attempts'),
  })
  .strict();

/**
 * The dispatcher's traffic rollup: every attempt one dispatcher replica made to one endpoint in one minute. Its id is
 * deterministic (`whru_<endpoint>_<minute>_<reporter>`), so a re-sent rollup is dropped by the stream's dedupe;
 * integration metrics, partner statistics and billing's `webhook_deliveries_succeeded` meter fold it.
 */
export const WebhookDeliveriesRolledUp = defineEvent({
  origin: 'domain',
  aggregate: 'webhook_traffic',
  category: 'webhook',
  type: 'webhook.deliveries.rolled_up',
  version: 1,
  description: 'Attempts one dispatcher replica made to one endpoint in one minute, by outcome, error class, event type and latency.',
  data: AttemptCountsSchema.extend({
    endpoint_id: safeText(),
    partner_id: safeText(),
    integration_id: safeText().optional().describe('The integration that owns the endpoint, if any'),
    minute: safeDatetime({ offset: true }).describe('Start of the minute (seconds are zero)'),
    reporter: safeText()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .describe('The dispatcher replica that made them'),
    by_class: z
      .record(z.enum(['success', 'timeout', 'tls', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'mapping']), z.number().int().min(0))
      .describe('Attempts by outcome class'),
    by_event_type: z
      .record(safeText().max(128), AttemptCountsSchema)
      .refine((r) => Object.keys(r).length <= 200, { message: 'at most 200 event types' }),
    latency_ms_buckets: z
      .array(z.number().int().min(0))
      .length(DELIVERY_LATENCY_BUCKETS_MS.length + 1)
      .describe('Attempt counts per DELIVERY_LATENCY_BUCKETS_MS bucket (non-cumulative), the last one above the largest bound'),
    latency_ms_sum: z.number().int().min(0),
  }).strict(),
});

export const webhookEndpointEvents = [
  WebhookEndpointCreated,
  WebhookEndpointUpdated,
  WebhookEndpointEnabled,
  WebhookEndpointDisabled,
  WebhookEndpointSecretRotated,
  WebhookEndpointSecretResealed,
  WebhookEndpointDeleted,
] as const;

/**
 * Event families that carry credentials or their ciphertext/hashes (endpoint signing secrets, API keys,
 * OAuth clients, partner users' password and session hashes). They are never delivered to partner endpoints, whatever the filter (`*` included);
 * partners see these resources through the API instead.
 */
export const CREDENTIAL_EVENT_PREFIXES = ['webhook_endpoint.', 'api_key.', 'oauth_client.', 'partner_user.'] as const;

/** Whether an event type belongs to a credential family (never delivered by webhook). */
export function isCredentialEvent(type: string): boolean {
  return CREDENTIAL_EVENT_PREFIXES.some((p) => type.startsWith(p));
}

/** Whether a filter entry can only ever match credential events (`api_key.*`, `webhook_endpoint.created`, ...). */
export function filterOnlyMatchesCredentialEvents(filter: string): boolean {
  const stem = filter.endsWith('.*') ? filter.slice(0, -1) : `${filter}.`;
  return CREDENTIAL_EVENT_PREFIXES.some((p) => stem.startsWith(p));
}

/** Whether an event type matches one filter entry (`*`, `lead.*` for every `lead.` type at any depth, or exact). */
export function eventTypeMatches(filter: string, type: string): boolean {
  if (filter === '*') return true;
  if (filter.endsWith('.*')) return type.startsWith(filter.slice(0, -1));
  return filter === type;
}

export function matchesAnyFilter(filters: readonly string[], type: string): boolean {
  return filters.some((f) => eventTypeMatches(f, type));
}
