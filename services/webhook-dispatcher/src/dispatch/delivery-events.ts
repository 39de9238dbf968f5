import type { PlatformEvent } from '@pep/contracts';
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
