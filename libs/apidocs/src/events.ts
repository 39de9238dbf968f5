import { allDefinitions, EnvelopeSchema, type EventDefinition, latestDefinitions } from '@pep/contracts';
import { z } from 'zod';
import { type Json, SchemaComponents, type SchemaTarget, toJsonSchema } from './json-schema.ts';

/** `lead.created` v2 → `lead.created.v2` (the file and component name of its schema). */
export function eventSchemaName(def: Pick<EventDefinition, 'type' | 'version'>): string {
  return `${def.type}.v${def.version}`;
}

/** The full envelope of one event type and version as a zod schema: `type` and `schemaversion` pinned. */
export function envelopeSchemaOf(def: EventDefinition): z.ZodType {
  return EnvelopeSchema.extend({
    type: z.literal(def.type).describe('Event type from the catalog'),
    schemaversion:
      def.version === 1
        ? z.literal(1).default(1).describe('Version of the data schema (1 when absent)')
        : z.literal(def.version).describe('Version of the data schema'),
    data: def.data,
  });
}

function describeDef(def: EventDefinition): Json {
  const extra: Json = { 'x-origin': def.origin, 'x-category': def.category };
  if (def.aggregate) extra['x-aggregate'] = def.aggregate;
  return extra;
}

function envelopeJson(def: EventDefinition, target: SchemaTarget): Json {
  return toJsonSchema(envelopeSchemaOf(def), 'input', target);
}

/**
 * JSON Schema 2020-12 of every event type and version (the whole CloudEvents envelope with its `data`),
 * keyed `<type>.v<N>`, sorted. Each is self-contained (named sub-schemas live in its own `$defs`).
 */
export function eventJsonSchemas(defs: readonly EventDefinition[] = allDefinitions()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const sorted = [...defs].sort((a, b) => a.type.localeCompare(b.type) || a.version - b.version);
  for (const def of sorted) {
    const name = eventSchemaName(def);
    const { $schema, ...rest } = envelopeJson(def, 'draft-2020-12');
    out[name] = {
      $schema: $schema ?? 'https://json-schema.org/draft/2020-12/schema',
      $id: `${name}.json`,
      title: `${def.type} (schema version ${def.version})`,
      description: def.description,
      ...describeDef(def),
      ...rest,
    };
  }
  return out;
}

export interface AsyncApiOptions {
  title?: string;
  version?: string;
  /** SUBJECT_PREFIX of the stream (default `platform`). */
  subjectPrefix?: string;
  /** NATS server host:port shown in `servers` (default `localhost:4222`). */
  natsHost?: string;
}

/** The NATS subject an event type is stored under, with AsyncAPI parameters. */
export function channelAddressOf(def: EventDefinition, prefix = 'platform'): string | null {
  if (def.origin === 'external') return `${prefix}.ext.{partnerid}.${def.type}`;
  if (def.aggregate) return `${prefix}.agg.${def.aggregate}.{aggregate_id}`;
  return null;
}

const NATS_HEADERS: Json = {
  type: 'object',
  description: 'NATS message headers set by the publisher (libs/events).',
  properties: {
    'Nats-Msg-Id': { type: 'string', description: 'The event id: JetStream stores an id once within the duplicate window.' },
    'ce-type': { type: 'string', description: 'The event type (the envelope `type`).' },
    'ce-partnerid': { type: 'string', description: 'The tenant (the envelope `partnerid`), when present.' },
    traceparent: { type: 'string', description: 'W3C trace context of the producer, when present.' },
    tracestate: { type: 'string', description: 'W3C trace state, when present.' },
  },
  required: ['Nats-Msg-Id', 'ce-type'],
};

/**
 * AsyncAPI 3.0 of the event catalog: one channel per event type (its NATS subject pattern on the PLATFORM
 * stream), one message per type with the CloudEvents envelope and its data schema (latest version), and
 * one operation per channel: the platform `receive`s external events (through the gateway) and `send`s
 * the domain events of its own aggregates.
 */
export function buildAsyncApi(defs: readonly EventDefinition[] = latestDefinitions(), opts: AsyncApiOptions = {}): Record<string, unknown> {
  const prefix = opts.subjectPrefix ?? 'platform';
  const components = new SchemaComponents('#/components/schemas/', 'draft-07');
  components.set('NatsHeaders', NATS_HEADERS);
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const sorted = [...defs].sort((a, b) => a.type.localeCompare(b.type) || a.version - b.version);

  for (const def of sorted) {
    const schemaName = eventSchemaName(def);
    const payload = components.addJson(envelopeJson(def, 'draft-07'));
    components.set(schemaName, { title: `${def.type} (schema version ${def.version})`, description: def.description, ...payload });
    messages[def.type] = {
      name: def.type,
      title: def.type,
      summary: def.description,
      contentType: 'application/json',
      tags: [{ name: def.category }],
      headers: components.ref('NatsHeaders'),
      payload: components.ref(schemaName),
      correlationId: { location: '$message.payload#/correlationid' },
      'x-schema-version': def.version,
      'x-origin': def.origin,
    };
    const address = channelAddressOf(def, prefix);
    const parameters: Json = {};
    if (address?.includes('{partnerid}')) {
      parameters.partnerid = { description: 'The tenant: the partner id, or `_` for events without a partner.' };
    }
    if (address?.includes('{aggregate_id}')) {
      parameters.aggregate_id = { description: `Id of the ${def.aggregate} aggregate; all of its events share this subject.` };
    }
    const channel: Json = {
      address,
      title: def.type,
      description:
        def.origin === 'external'
          ? 'External event, validated and appended by the gateway (POST /v1/events).'
          : `Domain event of the ${def.aggregate ?? def.category} aggregate, appended by its owning service.`,
      messages: { [def.type]: { $ref: `#/components/messages/${def.type}` } },
    };
    if (Object.keys(parameters).length > 0) channel.parameters = parameters;
    channels[def.type] = channel;
    operations[`${def.origin === 'external' ? 'receive' : 'send'}.${def.type}`] = {
      action: def.origin === 'external' ? 'receive' : 'send',
      channel: { $ref: `#/channels/${def.type}` },
      summary: def.description,
      messages: [{ $ref: `#/channels/${def.type}/messages/${def.type}` }],
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: opts.title ?? 'Partner Event Platform events',
      version: opts.version ?? '0.1.0',
      description:
        'Every event of the platform, stored on the JetStream stream PLATFORM as a CloudEvents 1.0 structured JSON ' +
        'envelope with the extensions `partnerid`, `schemaversion`, `correlationid`, `causationid` and `traceparent`. ' +
        'Generated from the zod contracts in `contracts/`; older schema versions are in `docs/reference/schemas/`.',
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: opts.natsHost ?? 'localhost:4222',
        protocol: 'nats',
        description: 'NATS with JetStream (stream PLATFORM, subjects `<prefix>.>`).',
      },
    },
    channels,
    operations,
    components: { schemas: components.toObject(), messages },
  };
}
