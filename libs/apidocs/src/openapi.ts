import { type HttpMethod, ProblemSchema, type RouteContract, routes as contractRoutes } from '@pep/contracts';
import type { z } from 'zod';
import { acceptsUndefined, type Json, SchemaComponents } from './json-schema.ts';

export interface OpenApiOptions {
  title?: string;
  version?: string;
  description?: string;
  /** Base URL of the gateway (default `http://127.0.0.1:8080`). */
  serverUrl?: string;
  /**
   * Paths the gateway serves itself rather than from the route table (`/v1/events`, `/healthz`, ...), as
   * OpenAPI path items keyed by OpenAPI path. They are merged into `paths` (an operation here wins over a
   * route-table operation with the same path and method).
   */
  extraPaths?: Record<string, unknown>;
  /** Extra `components.schemas` entries that `extraPaths` reference (embedded `$defs` are hoisted into components). */
  extraSchemas?: Record<string, unknown>;
}

const METHOD_ORDER: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const OPENAPI_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Reusable problem+json responses, by status. */
const PROBLEM_RESPONSES: Record<number, { name: string; description: string }> = {
  400: { name: 'BadRequest', description: 'Malformed request (invalid JSON, say).' },
  401: { name: 'Unauthorized', description: 'Missing, unknown or revoked credential.' },
  403: { name: 'Forbidden', description: 'The credential lacks the required scope.' },
  404: { name: 'NotFound', description: 'No such resource (or it belongs to another partner).' },
  409: { name: 'Conflict', description: 'Conflict: illegal state transition, concurrent change or reused Idempotency-Key.' },
  413: { name: 'PayloadTooLarge', description: 'The body is over the size limit.' },
  422: { name: 'UnprocessableEntity', description: 'Validation failed; `errors` names each invalid field.' },
  429: { name: 'TooManyRequests', description: 'Rate limit exceeded; retry after `Retry-After` seconds.' },
};

function problemResponseName(status: number): string {
  return PROBLEM_RESPONSES[status]?.name ?? `Error${status}`;
}

/** `/v1/partners/:id` → `/v1/partners/{id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] as string);
}

function successDescription(status: number): string {
  if (status === 201) return 'Created';
  if (status === 202) return 'Accepted';
  if (status === 204) return 'No content';
  return 'OK';
}

function parametersOf(route: RouteContract, components: SchemaComponents): Json[] {
  const out: Json[] = [];
  const fromObject = (schema: z.ZodObject | undefined, where: 'path' | 'query') => {
    if (!schema) return [] as string[];
    const js = components.add(schema, 'input');
    const props = (js.properties ?? {}) as Record<string, Json>;
    const required = new Set((js.required ?? []) as string[]);
    for (const [name, propSchema] of Object.entries(props)) {
      const { description, ...rest } = propSchema;
      const p: Json = { name, in: where, required: where === 'path' ? true : required.has(name), schema: rest };
      if (typeof description === 'string') p.description = description;
      out.push(p);
    }
    return Object.keys(props);
  };
  const declared = fromObject(route.params, 'path');
  for (const name of pathParamNames(route.path)) {
    if (!declared.includes(name)) out.push({ name, in: 'path', required: true, schema: { type: 'string' } });
  }
  fromObject(route.query, 'query');
  if (route.method === 'POST') out.push({ $ref: '#/components/parameters/IdempotencyKey' });
  return out;
}

function operationOf(route: RouteContract, components: SchemaComponents, usedErrors: Set<number>): Json {
  const op: Json = {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
  };
  const parameters = parametersOf(route, components);
  if (parameters.length > 0) op.parameters = parameters;

  if (route.body || route.raw) {
    if (route.raw) {
      op.requestBody = {
        required: true,
        description: 'Forwarded unparsed to the owning service, which verifies its signature over the raw bytes.',
        content: { 'application/json': { schema: route.body ? components.add(route.body, 'input') : {} } },
      };
    } else if (route.body) {
      op.requestBody = {
        required: !acceptsUndefined(route.body),
        content: { 'application/json': { schema: components.add(route.body, 'input') } },
      };
    }
  }

  const responses: Record<string, Json> = {};
  const success: Json = { description: route.success.description ?? successDescription(route.success.status) };
  if (route.success.schema) success.content = { 'application/json': { schema: components.add(route.success.schema, 'output') } };
  else if (route.success.contentType) success.content = { [route.success.contentType]: { schema: { type: 'string', format: 'binary' } } };
  responses[String(route.success.status)] = success;

  const errors = new Set<number>([404, 429, ...(route.errors ?? [])]);
  if (!route.public) {
    errors.add(401);
    errors.add(403);
  }
  if (route.body || route.raw) {
    errors.add(400);
    errors.add(413);
  }
  if (route.body || route.params || route.query) errors.add(422);
  for (const status of [...errors].sort((a, b) => a - b)) {
    usedErrors.add(status);
    responses[String(status)] = { $ref: `#/components/responses/${problemResponseName(status)}` };
  }
  op.responses = responses;

  op.security = route.public ? [] : [{ bearerAuth: [] }];
  if (!route.public) op['x-required-scope'] = route.scope;
  if (route.adminOnly) op['x-admin-only'] = true;
  op['x-service'] = route.service;
  op['x-rpc-pattern'] = route.pattern;
  return op;
}

function problemResponse(status: number, problemRef: Json): Json {
  const r: Json = {
    description: PROBLEM_RESPONSES[status]?.description ?? `Error ${status}.`,
    content: { 'application/problem+json': { schema: problemRef } },
  };
  if (status === 401) {
    r.headers = { 'WWW-Authenticate': { description: 'The authentication scheme (`Bearer`).', schema: { type: 'string' } } };
  }
  if (status === 429) {
    r.headers = { 'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } } };
  }
  return r;
}

function sortedPathItem(item: Json): Json {
  const out: Json = {};
  const keys = Object.keys(item).sort((a, b) => {
    const ia = OPENAPI_METHODS.indexOf(a);
    const ib = OPENAPI_METHODS.indexOf(b);
    if (ia === -1 && ib === -1) return a.localeCompare(b);
    if (ia === -1) return -1;
    if (ib === -1) return 1;
    return ia - ib;
  });
  for (const k of keys) out[k] = item[k];
  return out;
}

/**
 * OpenAPI 3.1 from the contracts route table, with JSON Schemas generated by zod 4 (`z.toJSONSchema`).
 * Deterministic: paths, methods, tags and components are sorted, and nothing depends on the clock.
 */
export function buildOpenApi(routeList: readonly RouteContract[] = contractRoutes, opts: OpenApiOptions = {}): Record<string, unknown> {
  const components = new SchemaComponents('#/components/schemas/');
  const problemRef = components.add(ProblemSchema, 'output');
  const usedErrors = new Set<number>();
  const paths: Record<string, Json> = {};

  const sorted = [...routeList].sort(
    (a, b) =>
      toOpenApiPath(a.path).localeCompare(toOpenApiPath(b.path)) ||
      METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method) ||
      a.operationId.localeCompare(b.operationId),
  );
  for (const route of sorted) {
    const p = toOpenApiPath(route.path);
    const item = paths[p] ?? {};
    item[route.method.toLowerCase()] = operationOf(route, components, usedErrors);
    paths[p] = item;
  }
  for (const [p, extra] of Object.entries(opts.extraPaths ?? {})) {
    paths[p] = { ...(paths[p] ?? {}), ...(extra as Json) };
  }
  // Hand-written schemas may embed converted zod schemas with their own `$defs` (eventJsonSchemas output, say):
  // those are hoisted into components and their local refs rewritten, so every `$ref` resolves in the document.
  for (const [name, schema] of Object.entries(opts.extraSchemas ?? {})) components.set(name, components.addJson(schema as Json));

  const sortedPaths: Record<string, Json> = {};
  for (const p of Object.keys(paths).sort()) sortedPaths[p] = sortedPathItem(paths[p] as Json);

  const tags = [...new Set(sorted.map((r) => r.tag))].sort().map((name) => ({ name }));
  const responses: Record<string, Json> = {};
  for (const status of [...usedErrors].sort((a, b) => a - b)) responses[problemResponseName(status)] = problemResponse(status, problemRef);

  return {
    openapi: '3.1.0',
    info: {
      title: opts.title ?? 'Partner Event Platform API',
      version: opts.version ?? '0.1.0',
      description:
        opts.description ??
        'The public HTTP API of the partner event platform. Generated from the zod contracts in `contracts/`; ' +
          'errors are RFC 9457 `application/problem+json`. Every POST accepts an `Idempotency-Key` header. ' +
          'The event catalog is described by the AsyncAPI document (`docs/reference/asyncapi.json`).',
    },
    servers: [{ url: opts.serverUrl ?? 'http://127.0.0.1:8080' }],
    tags,
    paths: sortedPaths,
    components: {
      schemas: components.toObject(),
      responses,
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes the POST safe to retry: the same key and body replay the stored response; the same key with a ' +
            'different body is rejected; a concurrent request with the same key gets 409.',
          schema: { type: 'string', minLength: 1, maxLength: 255 },
        },
      },
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key or an OAuth 2.0 access token: `Authorization: Bearer <credential>`.',
        },
      },
    },
  };
}
