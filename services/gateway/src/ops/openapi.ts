import { buildOpenApi, eventJsonSchemas } from '@pep/apidocs';
import { latestDefinitions, routes } from '@pep/contracts';
import { MAX_BATCH_EVENTS } from '../events/prepare-events.ts';

const problemContent = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
const problemResponse = (description: string) => ({ description, content: problemContent });

/** The external event types partners may post, each as its full envelope schema (from the catalog). */
function externalEventSchemas(): Record<string, unknown> {
  const defs = latestDefinitions().filter((d) => d.origin === 'external');
  const schemas = eventJsonSchemas(defs);
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const { $schema: _s, $id: _i, ...rest } = schema as Record<string, unknown>;
    out[`Event_${name.replace(/[^A-Za-z0-9_]/g, '_')}`] = rest;
  }
  return out;
}

const plain = (description: string, type: string, example?: unknown) => ({
  description,
  content: { [type]: { schema: type.includes('json') ? { type: 'object' } : { type: 'string' }, ...(example ? { example } : {}) } },
});

/** OpenAPI 3.1 of the whole gateway: the route table plus the routes the gateway serves itself. */
export function gatewayOpenApi(serverUrl: string): Record<string, unknown> {
  const eventSchemas = externalEventSchemas();
  const oneEvent = { oneOf: Object.keys(eventSchemas).map((n) => ({ $ref: `#/components/schemas/${n}` })) };
  const extraSchemas: Record<string, unknown> = {
    ...eventSchemas,
    PublishEvent: { ...oneEvent, description: 'One CloudEvents 1.0 event (structured mode) of an external type from the catalog.' },
    PublishEventsBody: {
      description: `One event, or a batch: an array of 1 to ${MAX_BATCH_EVENTS} events and at most 1 MiB.`,
      oneOf: [
        { $ref: '#/components/schemas/PublishEvent' },
        { type: 'array', minItems: 1, maxItems: MAX_BATCH_EVENTS, items: { $ref: '#/components/schemas/PublishEvent' } },
      ],
    },
    PublishEventsResult: {
      type: 'object',
      required: ['data'],
      properties: {
        data: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'seq', 'duplicate'],
            properties: {
              id: { type: 'string' },
              seq: { type: 'integer', description: 'Stream sequence of the stored event' },
              duplicate: { type: 'boolean', description: 'The id was already stored; no second message was created' },
            },
          },
        },
      },
    },
  };
  const publishEvents = {
    operationId: 'publishEvents',
    'x-required-scope': 'write:events',
    summary: 'Publish business events (one or a batch)',
    description:
      'Validates each event against the catalog by `type` and `schemaversion`; when any is invalid the answer is 422 with ' +
      '`errors: [{ index, path, message }]` and nothing is published. `specversion` defaults to "1.0" and `time` to the time ' +
      "of receipt. Only external event types are accepted. An admin credential may set `partnerid`; a partner credential's " +
      'events are stamped with its own partner id (a different `partnerid` is refused with 422). Posting an event id again ' +
      'is accepted (`duplicate: true`) and stores nothing new. Every content mode of the CloudEvents HTTP binding is ' +
      'accepted: `application/json` (one event or an array), structured `application/cloudevents+json` (one event), ' +
      'batched `application/cloudevents-batch+json` (an array), and binary mode: the attributes as `ce-*` headers ' +
      '(`ce-specversion`, `ce-id`, `ce-source`, `ce-type` required; `ce-time`, `ce-subject`, `ce-partnerid`, ' +
      "`ce-schemaversion`, ... optional; values percent-encoded per the binding) with the event's `data` as the " +
      '`application/json` body. Binary mode is chosen when any `ce-*` header is present and the Content-Type is not a ' +
      'structured CloudEvents type; its errors name the attribute and its header.',
    tags: ['Events'],
    security: [{ bearerAuth: [] }],
    parameters: [
      { $ref: '#/components/parameters/IdempotencyKey' },
      ...['specversion', 'id', 'source', 'type'].map((attribute) => ({
        name: `ce-${attribute}`,
        in: 'header',
        required: false,
        description: `CloudEvents binary mode: the event's \`${attribute}\` (required in that mode; the body is then the event's data)`,
        schema: { type: 'string' },
      })),
    ],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/PublishEventsBody' } },
        'application/cloudevents+json': { schema: { $ref: '#/components/schemas/PublishEvent' } },
        'application/cloudevents-batch+json': {
          schema: { type: 'array', items: { $ref: '#/components/schemas/PublishEvent' }, maxItems: MAX_BATCH_EVENTS },
        },
      },
    },
    responses: {
      '202': {
        description: 'Accepted: every event is stored in the stream',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/PublishEventsResult' } } },
      },
      '400': problemResponse('Malformed JSON (in binary mode: the data, or a `ce-*` header that is not percent-encoded UTF-8)'),
      '401': problemResponse('Missing or invalid credential'),
      '403': problemResponse('The credential lacks the `write:events` scope'),
      '409': problemResponse('A request with the same Idempotency-Key is in progress'),
      '413': problemResponse('The body is over 1 MiB or the batch has more than 500 events'),
      '415': problemResponse('The body is not JSON (in binary mode: the data is not `application/json`)'),
      '422': problemResponse('An event is invalid (`errors[].index` and `path` name it), or the Idempotency-Key was reused'),
      '503': problemResponse('The event store is unavailable; retrying is safe'),
    },
  };
  const op = (operationId: string, summary: string, responses: Record<string, unknown>) => ({
    get: { operationId, summary, tags: ['Operations'], security: [], responses },
  });
  return buildOpenApi(routes, {
    serverUrl,
    extraSchemas,
    extraPaths: {
      '/v1/events': { post: publishEvents },
      '/healthz': op('health', 'Liveness: the process is up', { '200': plain('Up', 'application/json', { status: 'ok' }) }),
      '/readyz': op('readiness', 'Readiness: NATS and the database are reachable', {
        '200': plain('Ready', 'application/json'),
        '503': plain('Not ready; `checks` says what failed', 'application/json'),
      }),
      '/metrics': op('metrics', 'Prometheus metrics', { '200': plain('Prometheus text format', 'text/plain') }),
      '/openapi.json': op('openapi', 'This OpenAPI 3.1 document', { '200': plain('OpenAPI document', 'application/json') }),
      '/docs': op('docs', 'Human-readable API reference', { '200': plain('HTML page', 'text/html') }),
    },
  });
}
