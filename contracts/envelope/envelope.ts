import { z } from 'zod';
import { ExternalId } from '../common/ids.ts';
import { safeDatetime, safeText } from '../common/text.ts';

/**
 * The platform's event envelope: CloudEvents 1.0 attributes plus the extensions the platform needs.
 * CloudEvents extension names are lowercase alphanumerics, hence `partnerid`, `schemaversion`, ...
 */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export const envelopeAttributes = {
  specversion: z.literal('1.0').describe('CloudEvents specification version'),
  id: ExternalId().describe('Unique per source; the dedupe key (Nats-Msg-Id): 1-128 visible ASCII characters'),
  source: safeText().min(1).max(512).describe('URI-reference identifying the producer'),
  type: safeText().regex(EVENT_TYPE_PATTERN, 'must look like "lead.created"').describe('Event type from the catalog'),
  time: safeDatetime({ offset: true }).describe('When the occurrence happened (RFC 3339)'),
  subject: safeText().max(512).optional().describe('The aggregate or resource the event is about'),
  datacontenttype: z.literal('application/json').default('application/json'),
  schemaversion: z.number().int().positive().default(1).describe('Version of the data schema for this type'),
  partnerid: safeText()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a partner id (letters, digits, "_" and "-"; it is a subject token)')
    .optional()
    .describe('Tenant: the partner this event belongs to'),
  correlationid: safeText().max(128).optional().describe('Groups every event caused by one request or workflow'),
  causationid: safeText().max(128).optional().describe('Id of the event or command that caused this one'),
  traceparent: safeText()
    .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
    .optional()
    .describe('W3C trace context'),
  tracestate: safeText().max(512).optional(),
};

export const EnvelopeSchema = z.object({ ...envelopeAttributes, data: z.unknown() });

/** An event envelope whose `data` has been validated against the catalog. */
export type PlatformEvent<T extends string = string, D = unknown> = Omit<z.output<typeof EnvelopeSchema>, 'type' | 'data'> & {
  type: T;
  data: D;
};

/** An event as read back from the stream: the envelope plus its stream position. */
export type StoredEvent<E extends PlatformEvent = PlatformEvent> = E & { readonly seq: number; readonly subject_name: string };
