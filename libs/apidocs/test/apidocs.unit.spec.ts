import { defineEvent, type RouteContract } from '@pep/contracts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { at, keysAt, listAt } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildAsyncApi,
  buildOpenApi,
  eventJsonSchemas,
  renderApiMarkdown,
  renderApiReferenceHtml,
  renderEventCatalogMarkdown,
} from '../src/index.ts';

// A route table of its own, so the tests do not depend on what the contexts register.
const Widget = z
  .object({ id: z.string(), name: z.string(), size: z.number().int(), created_at: z.string() })
  .meta({ id: 'ApidocsTestWidget', description: 'A widget' });
const CreateWidget = z
  .object({ name: z.string().min(1).max(50), size: z.number().int().default(1) })
  .strict()
  .meta({ id: 'ApidocsTestCreateWidget' });
// The same id in input and output form with different shapes (a default makes `size` optional on input).
const Shared = z.object({ size: z.number().int().default(3) }).meta({ id: 'ApidocsTestShared' });

const testRoutes: RouteContract[] = [
  {
    operationId: 'getWidget',
    method: 'GET',
    path: '/v1/widgets/:id',
    summary: 'Get a <widget>',
    tag: 'Widgets',
    service: 'widgets',
    pattern: 'widgets.get',
    scope: 'read:widgets',
    params: z.object({ id: z.string().min(1).describe('The widget id') }),
    success: { status: 200, schema: Widget },
  },
  {
    operationId: 'createWidget',
    method: 'POST',
    path: '/v1/widgets',
    summary: 'Create a widget',
    tag: 'Widgets',
    service: 'widgets',
    pattern: 'widgets.create',
    scope: 'write:widgets',
    adminOnly: true,
    body: CreateWidget,
    success: { status: 201, schema: Widget },
    errors: [409],
  },
  {
    operationId: 'listWidgets',
    method: 'GET',
    path: '/v1/widgets',
    summary: 'List widgets',
    tag: 'Widgets',
    service: 'widgets',
    pattern: 'widgets.list',
    scope: 'read:widgets',
    public: true,
    query: z.object({ limit: z.coerce.number().int().default(20), q: z.string(), cursor: z.string().optional() }),
    success: { status: 200, schema: z.object({ data: z.array(Widget), has_more: z.boolean() }) },
  },
  {
    operationId: 'echoShared',
    method: 'PUT',
    path: '/v1/shared',
    summary: 'Echo the `size`',
    tag: 'Misc',
    service: 'widgets',
    pattern: 'shared.echo',
    scope: 'write:widgets',
    body: Shared.optional(),
    success: { status: 200, schema: Shared },
  },
  {
    operationId: 'stripeWebhook',
    method: 'POST',
    path: '/v1/hooks/stripe',
    summary: 'Stripe webhook',
    tag: 'Webhooks',
    service: 'billing',
    pattern: 'stripe.webhook',
    scope: 'public',
    public: true,
    raw: true,
    success: { status: 204, schema: null },
  },
];

describe('buildOpenApi', () => {
  const doc = buildOpenApi(testRoutes, { title: 'T', version: '9.9.9', serverUrl: 'http://example.test' });

  it('is OpenAPI 3.1 with sorted paths in OpenAPI form', () => {
    expect(at(doc, 'openapi')).toBe('3.1.0');
    expect(at(doc, 'info')).toMatchObject({ title: 'T', version: '9.9.9' });
    expect(at(doc, 'servers')).toEqual([{ url: 'http://example.test' }]);
    expect(keysAt(doc, 'paths')).toEqual(['/v1/hooks/stripe', '/v1/shared', '/v1/widgets', '/v1/widgets/{id}']);
    expect(at(doc, 'tags')).toEqual([{ name: 'Misc' }, { name: 'Webhooks' }, { name: 'Widgets' }]);
  });

  it('documents path and query parameters with their required flags', () => {
    const get = at(doc, 'paths', '/v1/widgets/{id}', 'get');
    expect(at(get, 'parameters')).toEqual([
      { name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1 }, description: 'The widget id' },
    ]);
    const list = at(doc, 'paths', '/v1/widgets', 'get');
    const byName = Object.fromEntries(listAt(list, 'parameters').map((p) => [at(p, 'name'), p]));
    expect(byName.limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', default: 20 } });
    expect(byName.q).toMatchObject({ in: 'query', required: true });
    expect(byName.cursor).toMatchObject({ in: 'query', required: false });
  });

  it('puts named schemas in components and references them; bodies in input form', () => {
    const post = at(doc, 'paths', '/v1/widgets', 'post');
    expect(at(post, 'requestBody')).toEqual({
      required: true,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ApidocsTestCreateWidget' } } },
    });
    expect(at(post, 'responses', '201', 'content', 'application/json', 'schema')).toEqual({
      $ref: '#/components/schemas/ApidocsTestWidget',
    });
    const create = at(doc, 'components', 'schemas', 'ApidocsTestCreateWidget');
    expect(at(create, 'required')).toEqual(['name']);
    expect(at(create, 'additionalProperties')).toBe(false);
    const list = at(doc, 'paths', '/v1/widgets', 'get', 'responses', '200', 'content', 'application/json', 'schema');
    expect(at(list, 'properties', 'data', 'items')).toEqual({ $ref: '#/components/schemas/ApidocsTestWidget' });
  });

  it('keeps both forms of a schema whose input and output differ, and marks optional bodies', () => {
    const put = at(doc, 'paths', '/v1/shared', 'put');
    expect(at(put, 'requestBody', 'required')).toBe(false);
    const inRef = at(put, 'requestBody', 'content', 'application/json', 'schema', '$ref') as string;
    const outRef = at(put, 'responses', '200', 'content', 'application/json', 'schema', '$ref') as string;
    expect(inRef).not.toBe(outRef);
    const name = (ref: string) => ref.replace('#/components/schemas/', '');
    expect(at(doc, 'components', 'schemas', name(outRef), 'required')).toEqual(['size']);
    expect(at(doc, 'components', 'schemas', name(inRef))).toBeDefined();
    expect(at(doc, 'components', 'schemas', name(inRef), 'required')).toBeUndefined();
  });

  it('secures every non-public operation with the bearer scheme and states its scope', () => {
    const post = at(doc, 'paths', '/v1/widgets', 'post');
    expect(at(post, 'security')).toEqual([{ bearerAuth: [] }]);
    expect(at(post, 'x-required-scope')).toBe('write:widgets');
    expect(at(post, 'x-admin-only')).toBe(true);
    expect(at(doc, 'components', 'securitySchemes', 'bearerAuth')).toMatchObject({ type: 'http', scheme: 'bearer' });
    const list = at(doc, 'paths', '/v1/widgets', 'get');
    expect(at(list, 'security')).toEqual([]);
    expect(at(list, 'x-required-scope')).toBeUndefined();
    expect(at(list, 'responses', '401')).toBeUndefined();
  });

  it('answers errors with problem+json responses, including the route-specific ones', () => {
    const post = at(doc, 'paths', '/v1/widgets', 'post');
    expect(keysAt(post, 'responses')).toEqual(['201', '400', '401', '403', '404', '409', '413', '422', '429']);
    expect(at(post, 'responses', '409')).toEqual({ $ref: '#/components/responses/Conflict' });
    const conflict = at(doc, 'components', 'responses', 'Conflict');
    expect(at(conflict, 'content', 'application/problem+json', 'schema')).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(at(doc, 'components', 'schemas', 'Problem', 'properties', 'errors', 'type')).toBe('array');
    expect(at(doc, 'components', 'responses', 'Unauthorized', 'headers', 'WWW-Authenticate')).toBeDefined();
  });

  it('offers Idempotency-Key on every POST only', () => {
    const ref = { $ref: '#/components/parameters/IdempotencyKey' };
    expect(at(doc, 'paths', '/v1/widgets', 'post', 'parameters')).toContainEqual(ref);
    expect(at(doc, 'paths', '/v1/hooks/stripe', 'post', 'parameters')).toContainEqual(ref);
    expect(at(doc, 'paths', '/v1/widgets/{id}', 'get', 'parameters')).not.toContainEqual(ref);
    expect(at(doc, 'components', 'parameters', 'IdempotencyKey')).toMatchObject({ name: 'Idempotency-Key', in: 'header' });
  });

  it('documents raw routes with a body and a 204 without content', () => {
    const hook = at(doc, 'paths', '/v1/hooks/stripe', 'post');
    expect(at(hook, 'requestBody', 'content', 'application/json')).toBeDefined();
    expect(at(hook, 'responses', '204')).toEqual({ description: 'No content' });
  });

  it('merges the paths the gateway serves itself', () => {
    const withExtra = buildOpenApi(testRoutes, {
      extraPaths: {
        '/healthz': { get: { summary: 'Liveness', responses: { '200': { description: 'OK' } } } },
        '/v1/widgets': { head: { summary: 'Probe', responses: { '200': { description: 'OK' } } } },
      },
      extraSchemas: { Extra: { type: 'string' } },
    });
    expect(keysAt(withExtra, 'paths')[0]).toBe('/healthz');
    expect(keysAt(withExtra, 'paths', '/v1/widgets')).toEqual(['get', 'post', 'head']);
    expect(at(withExtra, 'components', 'schemas', 'Extra')).toEqual({ type: 'string' });
  });

  it('hoists the $defs of extra schemas into components so their refs resolve', () => {
    const withDefs = buildOpenApi(testRoutes, {
      extraSchemas: {
        Envelope: {
          $schema: 'https://json-schema.org/draft/2020-12/schema',
          type: 'object',
          properties: { data: { $ref: '#/$defs/ApidocsTestPayload' } },
          $defs: { ApidocsTestPayload: { type: 'object', properties: { n: { type: 'integer' } } } },
        },
      },
    });
    expect(at(withDefs, 'components', 'schemas', 'Envelope')).toEqual({
      type: 'object',
      properties: { data: { $ref: '#/components/schemas/ApidocsTestPayload' } },
    });
    expect(at(withDefs, 'components', 'schemas', 'ApidocsTestPayload')).toEqual({ type: 'object', properties: { n: { type: 'integer' } } });
  });

  it('does not depend on the order routes were registered in', () => {
    const reversed = buildOpenApi([...testRoutes].reverse(), { title: 'T', version: '9.9.9', serverUrl: 'http://example.test' });
    expect(JSON.stringify(reversed)).toBe(JSON.stringify(doc));
  });
});

const TestThing = defineEvent({
  type: 'apidocs_test.thing_happened',
  version: 1,
  origin: 'external',
  category: 'apidocs_test',
  description: 'A thing happened.',
  data: z.object({ thing_id: z.string().min(1), email: z.email(), count: z.number().int().optional() }).strict(),
});
const TestDomain = defineEvent({
  type: 'apidocs_test.widget_created',
  version: 2,
  origin: 'domain',
  aggregate: 'widget',
  category: 'apidocs_test',
  description: 'A widget was created.',
  data: z.object({ widget_id: z.string() }),
});

describe('buildAsyncApi', () => {
  const doc = buildAsyncApi([TestThing, TestDomain], { subjectPrefix: 'pfx' });

  it('has one channel per type with its NATS subject pattern', () => {
    expect(at(doc, 'asyncapi')).toBe('3.0.0');
    expect(keysAt(doc, 'channels')).toEqual(['apidocs_test.thing_happened', 'apidocs_test.widget_created']);
    expect(at(doc, 'channels', 'apidocs_test.thing_happened', 'address')).toBe('pfx.ext.{partnerid}.apidocs_test.thing_happened');
    expect(at(doc, 'channels', 'apidocs_test.thing_happened', 'parameters', 'partnerid')).toBeDefined();
    expect(at(doc, 'channels', 'apidocs_test.widget_created', 'address')).toBe('pfx.agg.widget.{aggregate_id}');
  });

  it('describes each message as the CloudEvents envelope with its data schema', () => {
    const msg = at(doc, 'components', 'messages', 'apidocs_test.widget_created');
    expect(at(msg, 'payload')).toEqual({ $ref: '#/components/schemas/apidocs_test.widget_created.v2' });
    const payload = at(doc, 'components', 'schemas', 'apidocs_test.widget_created.v2');
    expect(at(payload, 'properties', 'type', 'const')).toBe('apidocs_test.widget_created');
    expect(at(payload, 'properties', 'schemaversion', 'const')).toBe(2);
    expect(at(payload, 'required')).toEqual(
      expect.arrayContaining(['specversion', 'id', 'source', 'type', 'time', 'schemaversion', 'data']),
    );
    expect(at(payload, 'properties', 'data', 'properties', 'widget_id')).toEqual({ type: 'string' });
    expect(at(doc, 'operations', 'receive.apidocs_test.thing_happened', 'action')).toBe('receive');
    expect(at(doc, 'operations', 'send.apidocs_test.widget_created', 'action')).toBe('send');
  });
});

describe('eventJsonSchemas', () => {
  const schemas = eventJsonSchemas([TestThing, TestDomain]);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);

  it('gives a JSON Schema 2020-12 per type and version that accepts a good event and rejects a bad one', () => {
    expect(Object.keys(schemas)).toEqual(['apidocs_test.thing_happened.v1', 'apidocs_test.widget_created.v2']);
    const s = schemas['apidocs_test.thing_happened.v1'] as { $schema: string; $id: string };
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.$id).toBe('apidocs_test.thing_happened.v1.json');
    const validate = ajv.compile(s);
    const good = {
      specversion: '1.0',
      id: 'evt_1',
      source: 'partner/acme',
      type: 'apidocs_test.thing_happened',
      time: '2025-01-01T00:00:00Z',
      data: { thing_id: 't1', email: 'a@example.com' },
    };
    expect(validate(good)).toBe(true);
    expect(validate({ ...good, data: { thing_id: 't1', email: 'not-an-email' } })).toBe(false);
    expect(validate({ ...good, type: 'apidocs_test.widget_created' })).toBe(false);
    expect(validate({ ...good, data: { ...good.data, extra: 1 } })).toBe(false);
  });
});

describe('renderApiReferenceHtml', () => {
  const html = renderApiReferenceHtml(buildOpenApi(testRoutes), { events: [TestThing] });

  it('lists every operation with method, path, summary, scope and schemas, escaped', () => {
    for (const p of ['/v1/widgets/{id}', '/v1/widgets', '/v1/shared', '/v1/hooks/stripe']) expect(html).toContain(`<code>${p}</code>`);
    expect(html).toContain('Get a &lt;widget&gt;');
    expect(html).not.toContain('Get a <widget>');
    expect(html).toContain('scope <code>write:widgets</code>');
    expect(html).toContain('id="schema-ApidocsTestCreateWidget"');
    expect(html).toContain('href="#schema-ApidocsTestWidget"');
    expect(html).toContain('application/problem+json');
    expect(html).toContain('Echo the <code>size</code>');
  });

  it('includes the event catalog and is self-contained', () => {
    expect(html).toContain('href="#event-catalog"');
    expect(html).toContain('id="event-apidocs_test-thing_happened"');
    expect(html).toContain('platform.ext.{partnerid}.apidocs_test.thing_happened');
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//i);
  });
});

describe('markdown references', () => {
  it('events.md lists each type with versions, origin, subject, fields and the example', () => {
    const md = renderEventCatalogMarkdown([TestThing, TestDomain], {
      examples: { 'apidocs_test.thing_happened': { thing_id: 't1', email: 'a@example.com' } },
    });
    expect(md).toContain(
      '| [`apidocs_test.thing_happened`](#apidocs_testthing_happened) | 1 | external | `platform.ext.{partnerid}.apidocs_test.thing_happened` | A thing happened. |',
    );
    expect(md).toContain('| `email` | string (email) | yes |  |');
    expect(md).toContain('| `count` | integer');
    expect(md).toContain('"thing_id": "t1"');
    expect(md).toContain('`platform.agg.widget.{aggregate_id}`');
  });

  it('api.md lists every operation with its scope and owning service', () => {
    const md = renderApiMarkdown(buildOpenApi(testRoutes));
    expect(md).toContain('5 operations.');
    expect(md).toContain('| POST | `/v1/widgets` | Create a widget | `write:widgets` (admin only) | 201 |');
    expect(md).toContain('| GET | `/v1/widgets` | List widgets | public | 200 |');
    expect(md).toMatch(/\| widgets \|$/m);
  });
});
