// Robustness of the whole public API (issue 9, items 4 and 5), against the real services.
//
// 1. A property-based round trip (fast-check, seeded): for generated bodies of every create/update route, what the
//    API accepts (2xx) must be readable back, field for field; what cannot be stored must be refused with 4xx.
// 2. A generated fuzz over every operation of the gateway's own /openapi.json: missing fields, wrong types, 100 KB
//    strings, NUL and lone surrogates, unknown fields, invalid JSON, wrong content types, malformed path ids,
//    out-of-range and repeated query parameters, bad credentials. Properties: no answer is ≥ 500, every 4xx is
//    problem+json, nothing is published for a refused request, and the gateway is healthy at the end.
// Operations come from /openapi.json, so a route added later is fuzzed without touching this file.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { routes, type StoredEvent } from '@pep/contracts';
import {
  eventsAfter as eventsAfterIn,
  bodyOf,
  type Created,
  createTestBus,
  type FakeStripe,
  at,
  listAt,
  freePort,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  startFakeStripe,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeGithub } from '../services/github-bridge/test/fake-github/server.ts';
import { appKeys } from '../services/github-bridge/test/support/bridge.ts';

const names = testNames('robust');
// Every service a route of the contracts table forwards to: a new service's routes are fuzzed the day they exist.
const SERVICES = [...new Set(routes.map((r) => r.service))].filter((s) => s !== 'gateway').sort();
const CONCURRENCY = 8;
let bus: Awaited<ReturnType<typeof createTestBus>>;
const procs: ServiceProcess[] = [];
let gatewayUrl: string;
let adminKey: string;
let receiver: Server;
let receiverUrl: string;
let github: Awaited<ReturnType<typeof startFakeGithub>> | undefined;
let stripe: FakeStripe | undefined;

// ---------------------------------------------------------------------------------------------------------------
// HTTP

interface Sent {
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
  contentType?: string;
}
interface Answer {
  status: number;
  contentType: string;
  body: unknown;
  text: string;
}

function traceparent(): { header: string; traceId: string } {
  const traceId = randomBytes(16).toString('hex');
  return { header: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, traceId };
}

async function send(req: Sent, token: string | undefined = adminKey, tp = traceparent()): Promise<Answer> {
  const headers: Record<string, string> = { traceparent: tp.header, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) };
  let body: string | undefined;
  if (req.body !== undefined) {
    body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    headers['content-type'] = req.contentType ?? 'application/json';
  }
  Object.assign(headers, req.headers);
  if (headers.authorization === '') delete headers.authorization;
  const res = await fetch(`${gatewayUrl}${req.path}`, { method: req.method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: bodyOf(text), text };
}

async function must<T = Created>(method: string, path: string, body?: unknown, token = adminKey): Promise<T> {
  const r = await send({ label: 'fixture', method, path, body }, token);
  if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${r.text}`);
  return r.body as T;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The stream

async function lastSeq(): Promise<number> {
  return (await bus.bus.jsm.streams.info(names.STREAM_NAME)).state.last_seq;
}

const eventsAfter = (seq: number) => eventsAfterIn(bus.bus, seq);

const traceIdOf = (e: StoredEvent) => e.traceparent?.split('-')[1];

// ---------------------------------------------------------------------------------------------------------------
// OpenAPI

/** The parts of a JSON Schema (and of an OpenAPI parameter) the fuzz reads. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  default?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minItems?: number;
  minimum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
  in?: string;
  name?: string;
  schema?: Schema;
}
/** The parts of an OpenAPI operation the fuzz reads. */
interface OpenApiOperation {
  operationId: string;
  parameters?: Schema[];
  requestBody?: { content?: Record<string, { schema?: Schema } | undefined> };
  security?: unknown[];
}
interface Operation {
  id: string;
  method: string;
  path: string;
  pathParams: string[];
  query: { name: string; schema: Schema }[];
  body: Schema | undefined;
  isPublic: boolean;
}
let openapi: { paths: Record<string, Record<string, OpenApiOperation>>; components: { schemas: Record<string, Schema> } };

function resolve(s: Schema | undefined): Schema {
  let cur = s ?? {};
  while (cur.$ref) cur = openapi.components.schemas[String(cur.$ref).split('/').pop() as string] ?? {};
  return cur;
}

function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(openapi.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = ((op.parameters ?? []) as Schema[]).map((p) => (p.$ref ? {} : p));
      ops.push({
        id: op.operationId,
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name ?? ''),
        query: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name ?? '', schema: resolve(p.schema) })),
        body: op.requestBody ? resolve(op.requestBody.content?.['application/json']?.schema) : undefined,
        isPublic: !op.security || op.security.length === 0,
      });
    }
  }
  return ops;
}

/** A plausible value for a JSON Schema (required properties only): the starting point of every mutation. */
function sample(s: Schema | undefined, depth = 0): unknown {
  const schema = resolve(s);
  if (depth > 6) return undefined;
  if ('const' in schema) return schema.const;
  if (schema.enum) return schema.enum[0];
  if (schema.default !== undefined && typeof schema.default !== 'object') return schema.default;
  const alt = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (alt) return sample(alt.find((x: Schema) => resolve(x).type !== 'null') ?? alt[0], depth + 1);
  switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of schema.required ?? []) out[k] = sample(schema.properties?.[k], depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, schema.minItems ?? 0) }, () => sample(schema.items, depth + 1));
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 1);
    case 'boolean':
      return false;
    case 'string':
      if (schema.format === 'email') return 'fuzz@example.com';
      if (schema.format === 'uri') return 'https://example.com/fuzz';
      if (schema.format === 'date-time') return new Date().toISOString();
      return 'fuzz'.padEnd(schema.minLength ?? 0, 'z');
    default:
      return 'fuzz';
  }
}

function wrongTypeFor(s: Schema): unknown {
  const t = resolve(s).type;
  if (t === 'string') return 12345;
  if (t === 'array') return { not: 'an array' };
  if (t === 'object') return 'not an object';
  return 'not a number';
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: one resource of each kind, so that requests with good ids reach the owning service's handlers.

let fx: Record<string, string>;
let partnerKey: string;

async function createFixtures(): Promise<void> {
  const p = await must('POST', '/v1/partners', { name: 'Fuzz Co', type: 'technology', contact_email: 'ops@fuzz.example.com' });
  await must('POST', `/v1/partners/${p.id}/activate`, {});
  const key = await must<{ id: string; key: string }>('POST', `/v1/partners/${p.id}/api-keys`, { name: 'main', scopes: ['admin'] });
  partnerKey = key.key;
  await waitUntil(async () => (await send({ label: 'wait', method: 'GET', path: `/v1/partners/${p.id}` }, partnerKey)).status === 200);
  const contact = await must('POST', `/v1/partners/${p.id}/contacts`, { name: 'Bob', email: 'bob@fuzz.example.com', role: 'technical' });
  const app = await must('POST', '/v1/applications', {
    name: 'Fuzz app',
    description: 'fuzzing',
    redirect_uris: ['https://fuzz.example.com/callback'],
    scopes: ['read:partners'],
    webhook_url: `${receiverUrl}/app-webhook`,
    health_url: `${receiverUrl}/health`,
    privacy_url: 'https://fuzz.example.com/privacy',
    terms_url: 'https://fuzz.example.com/terms',
    partner_id: p.id,
  });
  const client = await must<{ id: string; client_id: string }>('POST', `/v1/applications/${app.id}/oauth-clients`, {
    type: 'confidential',
    scopes: ['read:*'],
  });
  await must('POST', `/v1/applications/${app.id}/submit`, {});
  await must('POST', `/v1/applications/${app.id}/start-review`, {});
  await must('POST', `/v1/applications/${app.id}/approve`, {});
  await must('POST', `/v1/applications/${app.id}/publish`, {});
  const integration = await must('POST', '/v1/integrations', { application_id: app.id, customer_id: 'cust_fuzz' });
  const ticket = await must('POST', '/v1/support/tickets', { subject: 'Help', description: 'Please', partner_id: p.id });
  const endpoint = await must('POST', '/v1/webhook-endpoints', { url: `${receiverUrl}/hook`, event_types: ['lead.*'], partner_id: p.id });
  const incident = await must<{ incident_id: string }>('POST', '/v1/incidents', {
    incident_id: `inc_${randomBytes(4).toString('hex')}`,
    customer_id: 'cust_fuzz',
    journey: { funnel: 'checkout', step: 'pay', url: 'https://fuzz.example.com/pay' },
    severity: 'low',
    detected_at: new Date().toISOString(),
    partner_id: p.id,
  });
  const policy = await must('POST', '/v1/rollback/policies', {
    customer_id: 'cust_fuzz',
    name: 'Fuzz policy',
    journeys: [{ funnel: 'checkout' }],
    partner_id: p.id,
  });
  // A portal user of the partner (invited: the registry runs without SMTP here, so no email goes out).
  const user = await must('POST', `/v1/partners/${p.id}/users`, { email: 'dev@fuzz.example.com', role: 'developer' });
  // A finalized invoice of the partner (billing's invoice, PDF and credit-note routes reach a real one).
  await must('POST', '/v1/billing/plans', {
    code: 'fuzz_basic',
    name: 'Fuzz',
    currency: 'USD',
    model: 'flat_fee',
    interval: 'month',
    amount: 3000,
  });
  await must('POST', '/v1/billing/subscriptions', { partner_id: p.id, plan_code: 'fuzz_basic', effective_date: '2026-01-01' });
  await must('POST', '/v1/billing/invoice-runs', { period: '2026-01' });
  fx = {
    partner: p.id,
    user: user.id,
    // Well-formed, nobody's: the route reaches the registry, which answers 404.
    session: 'ses_01jzzzzzzzzzzzzzzzzzzzzzzz',
    contact: contact.id,
    key: key.id,
    application: app.id,
    client: client.client_id,
    integration: integration.id,
    ticket: ticket.id,
    endpoint: endpoint.id,
    incident: incident.incident_id,
    policy: policy.id,
    // Well-formed ids nothing carries: the route still reaches its service, which answers 404.
    delivery: 'msg_01jzzzzzzzzzzzzzzzzzzzzzzz',
    job: 'whjob_01jzzzzzzzzzzzzzzzzzzzzzzz',
    invoice: `inv_${p.id}_202601`,
  };
}

function goodParams(op: Operation): Record<string, string> {
  const byPrefix: [string, Record<string, string>][] = [
    ['/v1/partners/{id}', { id: fx.partner as string, contact_id: fx.contact as string }],
    ['/v1/api-keys/{id}', { id: fx.key as string }],
    ['/v1/applications/{id}', { id: fx.application as string }],
    ['/v1/oauth-clients/{id}', { id: fx.client as string }],
    ['/v1/integrations/{id}', { id: fx.integration as string }],
    ['/v1/support/tickets/{id}', { id: fx.ticket as string }],
    ['/v1/webhook-endpoints/{id}', { id: fx.endpoint as string }],
    ['/v1/deliveries/{id}', { id: fx.delivery as string }],
    ['/v1/webhook-jobs/{id}', { id: fx.job as string }],
    ['/v1/incidents/{id}', { id: fx.incident as string }],
    ['/v1/rollback/policies/{id}', { id: fx.policy as string }],
    ['/v1/github/repositories/{owner}', { owner: 'fuzz-org', repo: 'fuzz-repo' }],
    // Well-formed marketplace ids nothing carries (and a category slug): the route reaches the marketplace.
    ['/v1/marketplace/listings/{id}', { id: 'lst_01jzzzzzzzzzzzzzzzzzzzzzzz', customer_id: 'cust_fuzz' }],
    ['/v1/marketplace/reviews/{id}', { id: `rev_${'z'.repeat(32)}` }],
    ['/v1/marketplace/categories/{slug}', { slug: 'fuzz-category' }],
    ['/v1/marketplace/rankings/{kind}', { kind: 'trending' }],
    ['/v1/partner-users/{id}', { id: fx.user as string }],
    // A well-formed payout id of the fixture partner (no payout exists): the route reaches billing, which answers 404.
    ['/v1/billing/payouts/{id}', { id: `po_${fx.partner}_202601` }],
    ['/v1/auth/sessions/{id}', { id: fx.session as string }],
    // A well-formed grant id nobody holds: the gateway's own grant route looks it up and answers 404.
    ['/v1/oauth/grants/{id}', { id: 'G'.repeat(43) }],
    ['/v1/billing/invoices/{id}', { id: fx.invoice as string }],
  ];
  return byPrefix.find(([prefix]) => op.path === prefix || op.path.startsWith(`${prefix}/`))?.[1] ?? {};
}

const fill = (path: string, params: Record<string, string>) => path.replace(/\{([a-z_]+)\}/g, (_, k: string) => params[k] ?? `x_${k}`);

// ---------------------------------------------------------------------------------------------------------------
// Generated requests

const BIG = 'x'.repeat(100 * 1024);
const BAD_STRINGS: [string, string][] = [
  ['NUL', 'a\u0000b'],
  ['lone high surrogate', 'a\ud800b'],
  ['lone low surrogate', '\udc00'],
  ['100 KB', BIG],
  ['SQL-ish', "x'); DROP TABLE partners; --"],
  ['empty', ''],
  ['control characters', '\u0001\u001b[31m\u007f'],
];
/** Path segments, already percent-encoded. */
const BAD_PATH_IDS: [string, string][] = [
  ['dot', 'foo.bar'],
  ['subject wildcard', 'foo.%3E'],
  ['star', '*'],
  ['space', 'foo%20bar'],
  ['CRLF', 'foo%0D%0Abar'],
  ['SQL-ish', encodeURIComponent("1' OR '1'='1")],
  ['2,000 chars', 'a'.repeat(2000)],
  ['NUL', 'foo%00bar'],
  ['lone surrogate (CESU bytes)', 'foo%ED%A0%80'],
  ['encoded slash', 'foo%2Fbar'],
  ['dot dot', '..'],
  ['upper-case ULID', 'PRT_01JZZZZZZZZZZZZZZZZZZZZZZZ'],
  ['non-ASCII', '%C3%A9t%C3%A9'],
  ['unknown well-formed', 'prt_01jzzzzzzzzzzzzzzzzzzzzzzz'],
];
const FORGED_JWT = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(
  JSON.stringify({ sub: 'admin', scope: 'admin', exp: 4102444800 }),
).toString('base64url')}.`;

function badQueryValues(s: Schema): [string, string][] {
  const out: [string, string][] = [
    ['NUL', '%00'],
    ['2,000 chars', 'q'.repeat(2000)],
    ['lone surrogate', '%ED%A0%80'],
    ['SQL-ish', encodeURIComponent("' OR 1=1 --")],
  ];
  if (s.type === 'integer' || s.type === 'number') out.push(['zero', '0'], ['negative', '-1'], ['huge', '1e12'], ['not a number', 'abc']);
  if (s.enum) out.push(['not in enum', 'bogus']);
  if (s.format === 'date-time') out.push(['not a date', 'yesterday']);
  return out;
}

function requestsFor(op: Operation): Sent[] {
  const params = goodParams(op);
  const path = fill(op.path, params);
  const label = (what: string) => `${op.method} ${op.path} ${what}`;
  const base = op.body ? sample(op.body) : undefined;
  const out: Sent[] = [];
  const withBody = (what: string, body: unknown, extra: Partial<Sent> = {}) =>
    out.push({ label: label(what), method: op.method, path, body, ...extra });

  // Credentials (a public route checks a credential that is sent, too).
  const realKeyBadChecksum = `${partnerKey.slice(0, -1)}${partnerKey.endsWith('A') ? 'B' : 'A'}`;
  for (const [what, auth] of [
    ['no credential', ''],
    ['garbage credential', 'Bearer garbage'],
    ['key with a bad checksum', `Bearer ${realKeyBadChecksum}`],
    ['alg none JWT', `Bearer ${FORGED_JWT}`],
    ['Basic auth', `Basic ${Buffer.from('admin:admin').toString('base64')}`],
  ] as const) {
    out.push({ label: label(what), method: op.method, path, body: base, headers: { authorization: auth } });
  }

  // Path ids.
  for (const name of op.pathParams) {
    for (const [what, value] of BAD_PATH_IDS) {
      out.push({ label: label(`path ${name}: ${what}`), method: op.method, path: fill(op.path, { ...params, [name]: value }), body: base });
    }
  }

  // Query parameters.
  for (const q of op.query) {
    for (const [what, value] of badQueryValues(q.schema)) {
      out.push({ label: label(`query ${q.name}: ${what}`), method: op.method, path: `${path}?${q.name}=${value}` });
    }
    out.push({ label: label(`query ${q.name}: repeated`), method: op.method, path: `${path}?${q.name}=1&${q.name}=2` });
  }
  if (op.query.length > 0) out.push({ label: label('unknown query parameter'), method: op.method, path: `${path}?zzz_unknown=1` });

  // Bodies.
  if (op.method !== 'GET') {
    withBody('invalid JSON', '{"a": ');
    withBody('JSON null', 'null');
    withBody('JSON array', '[1,2]');
    withBody('text/plain', JSON.stringify(base ?? {}), { contentType: 'text/plain' });
    withBody('XML', '<a/>', { contentType: 'application/xml' });
    withBody('form', 'a=1', { contentType: 'application/x-www-form-urlencoded' });
    withBody('NUL escape anywhere', '{"zzz":"\\u0000"}');
    withBody('lone surrogate escape anywhere', '{"zzz":"\\ud800"}');
  }
  const schema = op.body ? resolve(op.body) : undefined;
  if (schema && typeof base === 'object' && base !== null && !Array.isArray(base)) {
    const obj = base as Record<string, unknown>;
    withBody('valid-looking body', obj);
    withBody('empty object', {});
    withBody('unknown field', { ...obj, zzz_unknown: 1 });
    for (const [prop, ps] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
      const rest = { ...obj };
      delete rest[prop];
      if ((schema.required ?? []).includes(prop)) withBody(`missing ${prop}`, rest);
      withBody(`${prop}: wrong type`, { ...obj, [prop]: wrongTypeFor(ps) });
      withBody(`${prop}: null`, { ...obj, [prop]: null });
      for (const [what, value] of BAD_STRINGS) withBody(`${prop}: ${what}`, { ...obj, [prop]: value });
      const inner = resolve(ps);
      const nested = inner.type === 'object' ? inner : inner.type === 'array' ? resolve(inner.items) : undefined;
      if (nested?.type === 'object') {
        for (const sub of Object.keys(nested.properties ?? {})) {
          const item = { ...((sample(nested) as Record<string, unknown>) ?? {}) };
          for (const [what, value] of BAD_STRINGS.slice(0, 2)) {
            const v = { ...item, [sub]: value };
            withBody(`${prop}.${sub}: ${what}`, { ...obj, [prop]: inner.type === 'array' ? [v] : v });
          }
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The round trip: generated bodies of every create/update route, read back field for field.

interface RoundTrip {
  op: string;
  method: string;
  path: () => string;
  base: () => Record<string, unknown>;
  /** Where to read the resource back, given the write's answer. */
  read: (answer: unknown) => string;
  /** The item of a list answer that is the resource. */
  pick?: (read: unknown, answer: unknown) => unknown;
}

function roundTrips(): RoundTrip[] {
  const p = () => fx.partner as string;
  const now = () => new Date().toISOString();
  return [
    {
      op: 'createPartner',
      method: 'POST',
      path: () => '/v1/partners',
      base: () => ({ name: 'RT', type: 'technology', contact_email: 'rt@example.com' }),
      read: (a) => `/v1/partners/${at(a, 'id')}`,
    },
    {
      op: 'updatePartner',
      method: 'PATCH',
      path: () => `/v1/partners/${p()}`,
      base: () => ({ name: 'RT' }),
      read: () => `/v1/partners/${p()}`,
    },
    {
      op: 'addPartnerContact',
      method: 'POST',
      path: () => `/v1/partners/${p()}/contacts`,
      base: () => ({ name: 'RT', email: 'rt@example.com', role: 'support', phone: '+1 555 0100' }),
      read: () => `/v1/partners/${p()}/contacts?limit=100`,
      pick: (page, a) => listAt(page, 'data').find((c) => at(c, 'id') === at(a, 'id')),
    },
    {
      op: 'signPartnerAgreement',
      method: 'POST',
      path: () => `/v1/partners/${p()}/agreements`,
      base: () => ({ title: 'RT', signed_by: 'RT', effective_at: now(), revenue_share: { first_year_pct: 20, renewal_pct: 10 } }),
      read: () => `/v1/partners/${p()}/agreements?limit=100`,
      pick: (page, a) => listAt(page, 'data').find((c) => at(c, 'id') === at(a, 'id')),
    },
    {
      op: 'createApiKey',
      method: 'POST',
      path: () => `/v1/partners/${p()}/api-keys`,
      base: () => ({ name: 'RT', scopes: ['read:*'] }),
      read: (a) => `/v1/api-keys/${at(a, 'id')}`,
    },
    {
      op: 'createApplication',
      method: 'POST',
      path: () => '/v1/applications',
      base: () => ({ name: 'RT', description: 'RT', partner_id: p() }),
      read: (a) => `/v1/applications/${at(a, 'id')}`,
    },
    {
      op: 'updateApplication',
      method: 'PATCH',
      path: () => `/v1/applications/${fx.application}`,
      base: () => ({ name: 'RT', description: 'RT' }),
      read: () => `/v1/applications/${fx.application}`,
    },
    {
      op: 'installIntegration',
      method: 'POST',
      path: () => '/v1/integrations',
      base: () => ({ application_id: fx.application, customer_id: `c${randomBytes(4).toString('hex')}` }),
      read: (a) => `/v1/integrations/${at(a, 'id')}`,
    },
    {
      op: 'openTicket',
      method: 'POST',
      path: () => '/v1/support/tickets',
      base: () => ({ subject: 'RT', description: 'RT', partner_id: p() }),
      read: (a) => `/v1/support/tickets/${at(a, 'id')}`,
    },
    {
      op: 'commentTicket',
      method: 'POST',
      path: () => `/v1/support/tickets/${fx.ticket}/comments`,
      base: () => ({ body: 'RT' }),
      read: () => `/v1/support/tickets/${fx.ticket}`,
      pick: (ticket, a) => listAt(ticket, 'comments').find((c) => at(c, 'id') === at(listAt(a, 'comments').at(-1), 'id')),
    },
    {
      op: 'assignTicket',
      method: 'POST',
      path: () => `/v1/support/tickets/${fx.ticket}/assign`,
      base: () => ({ assignee: 'RT' }),
      read: () => `/v1/support/tickets/${fx.ticket}`,
    },
    {
      op: 'createWebhookEndpoint',
      method: 'POST',
      path: () => '/v1/webhook-endpoints',
      base: () => ({ url: `${receiverUrl}/rt`, event_types: ['lead.*'], description: 'RT', partner_id: p() }),
      read: (a) => `/v1/webhook-endpoints/${at(a, 'id')}`,
    },
    {
      op: 'updateWebhookEndpoint',
      method: 'PATCH',
      path: () => `/v1/webhook-endpoints/${fx.endpoint}`,
      base: () => ({ description: 'RT' }),
      read: () => `/v1/webhook-endpoints/${fx.endpoint}`,
    },
    {
      op: 'createIncident',
      method: 'POST',
      path: () => '/v1/incidents',
      base: () => ({
        incident_id: `inc_${randomBytes(6).toString('hex')}`,
        customer_id: `c${randomBytes(4).toString('hex')}`,
        journey: { funnel: 'RT', step: 'RT', url: 'https://rt.example.com/pay' },
        severity: 'low',
        detected_at: now(),
        partner_id: p(),
      }),
      read: (a) => `/v1/incidents/${at(a, 'incident_id')}`,
    },
    {
      op: 'createRollbackPolicy',
      method: 'POST',
      path: () => '/v1/rollback/policies',
      base: () => ({ customer_id: `c${randomBytes(4).toString('hex')}`, name: 'RT', journeys: [{ funnel: 'RT' }], partner_id: p() }),
      read: (a) => `/v1/rollback/policies/${at(a, 'id')}`,
    },
    {
      op: 'replaceRollbackPolicy',
      method: 'PUT',
      path: () => `/v1/rollback/policies/${fx.policy}`,
      base: () => ({ customer_id: 'cust_fuzz', name: 'RT', journeys: [{ funnel: 'RT' }] }),
      read: () => `/v1/rollback/policies/${fx.policy}`,
    },
    {
      // One minor unit each: the fixture invoice (3000) has room for every run.
      op: 'createBillingCreditNote',
      method: 'POST',
      path: () => `/v1/billing/invoices/${fx.invoice}/credit-notes`,
      base: () => ({ reason: 'RT', lines: [{ description: 'RT', amount: 1 }] }),
      read: () => `/v1/billing/invoices/${fx.invoice}/credit-notes`,
      pick: (page, a) => listAt(page, 'data').find((c) => at(c, 'id') === at(a, 'id')),
    },
  ];
}

/** Paths (into a body) of its free-text fields: the `'RT'` placeholders of a round trip's base body. */
function textPaths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (value === 'RT') return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => textPaths(v, [...at, i]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => textPaths(v, [...at, k]));
  return [];
}
function getAt(value: unknown, path: (string | number)[]): unknown {
  return path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);
}
function setAt(value: Record<string, unknown>, path: (string | number)[], v: unknown): Record<string, unknown> {
  const copy = structuredClone(value);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = v;
  return copy;
}

/** Text as a client might send it: any UTF-16 (lone surrogates included), control characters, NUL, spaces. */
const textArb = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('a', ' ', '\u0000', '\t', '\n', '\u001b', '\u007f', '\ud800', '\udfff', '\u00e9', '😀'),
    minLength: 1,
    maxLength: 12,
  }),
);

// ---------------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  bus = await createTestBus(names, ['gateway', ...SERVICES]);
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const keys = appKeys();
  github = await startFakeGithub({ appId: 99, publicKey: keys.publicKey });
  stripe = await startFakeStripe();
  const secret = randomBytes(32).toString('hex');
  const common = { STREAM_MAX_AGE_HOURS: '2' };
  const env: Record<string, Record<string, string>> = {
    'partner-registry': { SSRF_ALLOW: '127.0.0.1/32', ALLOW_HTTP_URLS: 'true' },
    'webhook-dispatcher': { WEBHOOK_SECRET_KEY: secret, WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8', WEBHOOK_POLL_MS: '50' },
    'rollback-orchestrator': { ROLLBACK_SECRETS_KEY: secret, OUTBOUND_ALLOWLIST: '127.0.0.1' },
    'github-bridge': {
      GITHUB_APP_ID: '99',
      GITHUB_PRIVATE_KEY: keys.privateKeyPem,
      GITHUB_WEBHOOK_SECRET: randomBytes(16).toString('hex'),
      GITHUB_API_URL: github.url,
    },
    billing: { STRIPE_API_KEY: stripe.apiKey, STRIPE_WEBHOOK_SECRET: stripe.webhookSecret, STRIPE_API_BASE: stripe.url },
  };
  const port = await freePort();
  adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const gw = spawnService(
    'gateway',
    serviceEnv(names, { ...common, GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, RATE_LIMIT_ENABLED: 'false' }),
  );
  procs.push(gw);
  gatewayUrl = `http://127.0.0.1:${port}`;
  // Generous bounded waits: on a shared, loaded machine a cold start of five processes can take over a minute.
  const ready = [waitReady(`${gatewayUrl}/readyz`, gw, 150_000)];
  for (const s of SERVICES) {
    const health = await freePort();
    const p = spawnService(s, serviceEnv(names, { ...common, HEALTH_PORT: String(health), ...env[s] }));
    procs.push(p);
    ready.push(waitReady(`http://127.0.0.1:${health}/readyz`, p, 150_000));
  }
  await Promise.all(ready);
  openapi = (await (await fetch(`${gatewayUrl}/openapi.json`)).json()) as typeof openapi;
  await createFixtures();
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  receiver?.close();
  await github?.close();
  await stripe?.close();
  await bus?.cleanup();
});

describe('API robustness', () => {
  it('accepts only what it can read back: generated text in every create/update route round-trips field for field', async () => {
    const seed = Number(process.env.FC_SEED ?? Math.floor(Math.random() * 2 ** 31));
    process.stdout.write(`round trip: fast-check seed ${seed} (FC_SEED=${seed} replays it)\n`);
    const trips = roundTrips();
    const statuses: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...trips), fc.array(textArb, { minLength: 4, maxLength: 4 }), async (trip, texts) => {
        let body = trip.base();
        const fields = textPaths(body);
        fields.forEach((f, i) => {
          body = setAt(body, f, texts[i % texts.length]);
        });
        const answer = await send({ label: trip.op, method: trip.method, path: trip.path(), body });
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.status >= 500) throw new Error(`${trip.op} answered ${answer.status}: ${answer.text}`);
        if (answer.status >= 400) {
          expect(answer.contentType, `${trip.op} ${answer.status}`).toMatch(/^application\/problem\+json/);
          return;
        }
        // Accepted: every field reads back as sent (string fields are trimmed by the schemas).
        const read = await waitUntil(
          async () => {
            const r = await send({ label: 'read', method: 'GET', path: trip.read(answer.body) });
            if (r.status !== 200) return undefined;
            return trip.pick ? trip.pick(r.body, answer.body) : r.body;
          },
          { timeoutMs: 5000, what: `${trip.op}: the accepted write to be readable at ${trip.read(answer.body)}` },
        );
        for (const f of fields) {
          const sent = getAt(body, f) as string;
          expect(getAt(read, f), `${trip.op} ${f.join('.')} read back (sent ${JSON.stringify(sent)})`).toBe(sent.trim());
        }
      }),
      { seed, numRuns: 120, endOnFailure: true },
    );
    process.stdout.write(`round trip statuses: ${JSON.stringify(statuses)}\n`);
    expect(Object.keys(statuses).some((s) => Number(s) < 300)).toBe(true);
  });

  it('answers every generated bad request over every operation with a 4xx problem, publishes nothing for it, and stays healthy', async () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(60);
    const requests = ops.flatMap(requestsFor);
    const fromSeq = await lastSeq();

    const refused = new Set<string>();
    const accepted = new Set<string>();
    const statuses: Record<number, number> = {};
    const serverErrors: string[] = [];
    const notProblems: string[] = [];
    await pool(requests, CONCURRENCY, async (req) => {
      const tp = traceparent();
      let a: Answer;
      try {
        a = await send(req, adminKey, tp);
      } catch (err) {
        serverErrors.push(`${req.label}: request failed (${(err as Error).message})`);
        return;
      }
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      if (a.status >= 500) serverErrors.push(`${req.label} → ${a.status} ${a.text.slice(0, 300)}`);
      if (a.status >= 400 && !/^application\/problem\+json/.test(a.contentType))
        notProblems.push(`${req.label} → ${a.status} ${a.contentType}`);
      (a.status >= 400 ? refused : accepted).add(tp.traceId);
    });
    process.stdout.write(
      `robustness: ${requests.length} requests over ${ops.length} operations; statuses ${JSON.stringify(statuses)}; ${serverErrors.length} answers >= 500\n`,
    );
    if (serverErrors.length) process.stdout.write(`${serverErrors.slice(0, 400).join('\n')}\n`);

    // Let the services finish what the accepted requests started, then look at what was published.
    await new Promise((r) => setTimeout(r, 1000));
    const published = await eventsAfter(fromSeq);
    const fromRefused = published.filter((e) => refused.has(traceIdOf(e) ?? '')).map((e) => `${e.type} ${e.subject ?? ''}`);
    const fromAccepted = published.filter((e) => accepted.has(traceIdOf(e) ?? '')).length;
    process.stdout.write(
      `robustness: ${published.length} events published during the run, ${fromAccepted} traced to accepted requests, ${fromRefused.length} to refused ones\n`,
    );

    // The gateway is healthy and serves a normal request.
    const healthz = await fetch(`${gatewayUrl}/healthz`);
    const readyz = await fetch(`${gatewayUrl}/readyz`);
    const list = await send({ label: 'final', method: 'GET', path: '/v1/partners?limit=1' });

    expect(requests.length).toBeGreaterThanOrEqual(3000);
    expect(serverErrors, 'answers >= 500').toEqual([]);
    expect(notProblems, '4xx answers that are not problem+json').toEqual([]);
    expect(fromRefused, 'events published for refused requests').toEqual([]);
    expect(accepted.size + refused.size).toBe(requests.length);
    // The attribution works (events carry the request's trace id), so the check above is not vacuous.
    expect(fromAccepted).toBeGreaterThan(0);
    expect(refused.size).toBeGreaterThan(requests.length / 2);
    expect([healthz.status, readyz.status, list.status]).toEqual([200, 200, 200]);
  });
});
