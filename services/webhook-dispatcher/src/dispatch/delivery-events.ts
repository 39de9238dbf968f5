import type { DeliveryErrorClass, PlatformEvent } from '@pep/contracts';
import { newEvent } from '@pep/events';
import type { MappingFailure } from '@pep/mapping';
import type { CompletedDelivery } from './store.ts';
import type { Work } from './work.ts';

export const SOURCE = 'webhook-dispatcher';

/** `webhook.delivery.exhausted` of a delivery that failed for good (id: once per delivery and attempt count). */
export function exhaustedEvent(d: CompletedDelivery, at: Date): PlatformEvent {
  return newEvent({
    id: `exh_${d.id}_${d.attempts}`,
    source: SOURCE,
    type: 'webhook.delivery.exhausted',
    time: at.toISOString(),
    subject: d.id,
    partnerid: d.partner_id,
    data: {
      delivery_id: d.id,
      endpoint_id: d.endpoint_id,
      event_id: d.event_id,
      event_type: d.event_type,
      attempts: d.attempts,
      last_status_code: d.last_status_code,
      last_error: d.last_error,
    },
  });
}

/** The integration error of a mapping that failed on an event for one endpoint (id: once per attempt). */
export function mappingFailedEvent(
  w: Work,
  partnerId: string,
  mapping: { integrationId: string; eventType: string; version: number },
  f: MappingFailure,
  at: Date,
): PlatformEvent {
  const eventId = w.kind === 'held' ? w.delivery.event_id : w.event_id;
  return newEvent({
    id: `mapf_${w.id}_${w.attempts + 1}`,
    source: SOURCE,
    type: 'integration.mapping_failed',
    time: at.toISOString(),
    subject: w.id,
    partnerid: partnerId,
    data: {
      integration_id: mapping.integrationId,
      endpoint_id: w.endpoint_id,
      delivery_id: w.id,
      event_id: eventId,
      event_type: w.event_type,
      mapping_event_type: mapping.eventType,
      mapping_version: mapping.version,
      error_class: f.class,
      error_code: f.code.slice(0, 16),
      error_message: f.message.slice(0, 500),
      position: f.position,
      failed_at: at.toISOString(),
    },
  });
}

/** A lone UTF-16 surrogate (no UTF-8 form): replaced, so the excerpt is storable text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Up to `max` characters of a response or error, storable (no NUL, no lone surrogate). */
export function storableExcerpt(s: string | null, max = 500): string | null {
  if (s === null) return null;
  return s.slice(0, max).replaceAll('\u0000', '').replace(LONE_SURROGATE, '\ufffd');
}

/**
 * The integration error of a failed attempt to an endpoint an integration owns (id: once per delivery and
 * attempt): the event, the attempt, the status and up to 500 characters of the response.
 */
export function deliveryFailedEvent(
  w: Work,
  partnerId: string,
  integrationId: string,
  r: { cls: DeliveryErrorClass; statusCode: number | null; error: string | null; excerpt: string | null; latencyMs: number },
  at: Date,
): PlatformEvent {
  const eventId = w.kind === 'held' ? w.delivery.event_id : w.event_id;
  const attempt = w.attempts + 1;
  return newEvent({
    id: `intf_${w.id}_${attempt}`,
    source: SOURCE,
    type: 'integration.delivery_failed',
    time: at.toISOString(),
    subject: w.id,
    partnerid: partnerId,
    data: {
      integration_id: integrationId,
      endpoint_id: w.endpoint_id,
      delivery_id: w.id,
      event_id: eventId,
      event_type: w.event_type,
      attempt,
      status_code: r.statusCode,
      error_class: r.cls,
      error: storableExcerpt(r.error),
      excerpt: storableExcerpt(r.excerpt),
      latency_ms: Math.max(0, Math.round(r.latencyMs)),
      failed_at: at.toISOString(),
    },
  });
}
