import { z } from 'zod';

/**
 * The platform's event envelope: CloudEvents 1.0 attributes plus the extensions the platform needs.
 * CloudEvents extension names are lowercase alphanumerics, hence `partnerid`, `schemaversion`, ...
 */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export const envelopeAttributes = {
  specversion: z.literal('1.0').describe('CloudEvents specification version'),
  id: z.string().min(1).max(128).describe('Unique per source; the dedupe key (Nats-Msg-Id)'),
  source: z.string().min(1).max(512).describe('URI-reference identifying the producer'),
  type: z.string().regex(EVENT_TYPE_PATTERN, 'must look like "lead.created"').describe('Event type from the catalog'),
  time: z.iso.datetime({ offset: true }).describe('When the occurrence happened (RFC 3339)'),
  subject: z.string().max(512).optional().describe('The aggregate or resource the event is about'),
  datacontenttype: z.literal('application/json').default('application/json'),
  schemaversion: z.number().int().positive().default(1).describe('Version of the data schema for this type'),
  partnerid: z.string().min(1).max(64).optional().describe('Tenant: the partner this event belongs to'),
  correlationid: z.string().max(128).optional().describe('Groups every event caused by one request or workflow'),
  causationid: z.string().max(128).optional().describe('Id of the event or command that caused this one'),
  traceparent: z
    .string()
    .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
    .optional()
    .describe('W3C trace context'),
  tracestate: z.string().max(512).optional(),
};

export const EnvelopeSchema = z.object({ ...envelopeAttributes, data: z.unknown() });

/** An event envelope whose `data` has been validated against the catalog. */
export type PlatformEvent<T extends string = string, D = unknown> = Omit<z.output<typeof EnvelopeSchema>, 'type' | 'data'> & {
  type: T;
  data: D;
};

/** An event as read back from the stream: the envelope plus its stream position. */
export type StoredEvent<E extends PlatformEvent = PlatformEvent> = E & { readonly seq: number; readonly subject_name: string };
