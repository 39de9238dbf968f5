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

/** The event types a mapping applies to: an exact type, a `<prefix>.*` wildcard or `*` (the endpoint filter's syntax). */
export const MappingEventTypeSchema = safeText()
  .max(128)
  .regex(/^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/, 'must be an event type, "<prefix>.*" or "*"');

const mapping = { origin: 'domain', aggregate: 'integration', category: 'integration' } as const;

export const IntegrationMappingSet = defineEvent({
  ...mapping,
  type: 'integration.mapping_set',
  version: 1,
  description:
    "A field mapping (a JSONata expression over the event's `data`) was saved for an event type of the integration; `version` counts the saves of that event type's mapping from 1.",
  data: z.object({
    integration_id: safeText(),
    event_type: MappingEventTypeSchema,
    version: z.number().int().min(1),
    expression: safeText().max(10_000),
    set_by: safeText(),
    set_at: safeDatetime({ offset: true }),
  }),
});

export const IntegrationMappingRemoved = defineEvent({
  ...mapping,
  type: 'integration.mapping_removed',
  version: 1,
  description: 'The mapping of an event type was removed: its deliveries carry the unmapped event again. `version` is the removed version.',
  data: z.object({
    integration_id: safeText(),
    event_type: MappingEventTypeSchema,
    version: z.number().int().min(1),
    removed_by: safeText(),
    removed_at: safeDatetime({ offset: true }),
  }),
});

export const MappingErrorClassSchema = z.enum(['timeout', 'depth', 'size', 'empty', 'runtime']);

export const IntegrationMappingFailed = defineEvent({
  origin: 'domain',
  aggregate: 'webhook_delivery',
  category: 'integration',
  type: 'integration.mapping_failed',
  version: 1,
  description:
    "The webhook-dispatcher could not apply an integration's mapping to an event for one of its endpoints (an integration error): nothing was delivered for that event to that endpoint; the delivery is `failed` and can be resent once the mapping is fixed.",
  data: z.object({
    integration_id: safeText(),
    endpoint_id: safeText(),
    delivery_id: safeText(),
    event_id: safeText(),
    event_type: safeText(),
    mapping_event_type: MappingEventTypeSchema,
    mapping_version: z.number().int().min(1),
    error_class: MappingErrorClassSchema,
    error_code: safeText().max(16),
    error_message: safeText().max(500),
    position: z.number().int().nullable(),
    failed_at: safeDatetime({ offset: true }),
  }),
});

/** The traffic error classes of an attempt (as in `webhook.deliveries.rolled_up`'s `by_class`, without `success`). */
export const DeliveryErrorClassSchema = z.enum(['timeout', 'tls', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'mapping']);
export type DeliveryErrorClass = z.output<typeof DeliveryErrorClassSchema>;

export const IntegrationDeliveryFailed = defineEvent({
  origin: 'domain',
  aggregate: 'webhook_delivery',
  category: 'integration',
  type: 'integration.delivery_failed',
  version: 1,
  description:
    'An attempt of the webhook-dispatcher to an endpoint an integration owns failed (an integration error): its context is the event, the attempt number, the HTTP status and up to 500 characters of the response. Its id is deterministic per delivery and attempt (`intf_<delivery>_<attempt>`). Never delivered by webhook (it would feed itself).',
  data: z.object({
    integration_id: safeText(),
    endpoint_id: safeText(),
    delivery_id: safeText(),
    event_id: safeText(),
    event_type: safeText(),
    attempt: z.number().int().min(1),
    status_code: z.number().int().nullable(),
    error_class: DeliveryErrorClassSchema,
    error: safeText().max(500).nullable(),
    excerpt: safeText().max(500).nullable(),
    latency_ms: z.number().int().min(0),
    failed_at: safeDatetime({ offset: true }),
  }),
});
