import { type EventDefinition, latestDefinitions } from '@pep/contracts';
import { channelAddressOf } from './events.ts';
import { type Json, toJsonSchema } from './json-schema.ts';

export interface ApiReferenceHtmlOptions {
  /** Event types listed in the page's event catalog section (default: the latest version of every type). */
  events?: readonly EventDefinition[];
  /** Where the machine-readable documents are served (links at the top of the page). */
  openApiUrl?: string;
  asyncApiUrl?: string | null;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** Escaped text with Markdown-style `code` spans rendered as <code>. */
function prose(value: unknown): string {
  return escapeHtml(value).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function anchor(kind: string, name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

const SCHEMA_REF = /^#\/components\/schemas\/(.+)$/;

/** A one-line type description: `string (email)`, `array of Partner`, `"a" | "b"`, ... */
function typeOf(schema: unknown): string {
  if (!schema || typeof schema !== 'object') return 'any';
  const s = schema as Json;
  if (typeof s.$ref === 'string') {
    const m = SCHEMA_REF.exec(s.$ref);
    const name = m ? decodeURIComponent(m[1] as string) : s.$ref;
    return m ? `<a href="#${anchor('schema', name)}">${escapeHtml(name)}</a>` : escapeHtml(name);
  }
  if ('const' in s) return `<code>${escapeHtml(JSON.stringify(s.const))}</code>`;
  if (Array.isArray(s.enum)) return s.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(' | ');
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (Array.isArray(s[key])) return (s[key] as unknown[]).map(typeOf).join(key === 'allOf' ? ' &amp; ' : ' | ');
  }
  const t = Array.isArray(s.type) ? s.type.join(' | ') : typeof s.type === 'string' ? s.type : s.properties ? 'object' : 'any';
  if (t === 'array') return `array of ${typeOf(s.items)}`;
  const facets: string[] = [];
  if (typeof s.format === 'string') facets.push(s.format);
  for (const [k, label] of [
    ['minLength', 'min length'],
    ['maxLength', 'max length'],
    ['minimum', 'min'],
    ['maximum', 'max'],
  ] as const) {
    const v = s[k];
    if (typeof v === 'number' && Math.abs(v) < 1e15) facets.push(`${label} ${v}`);
  }
  return escapeHtml(t) + (facets.length ? ` <span class="muted">(${escapeHtml(facets.join(', '))})</span>` : '');
}

/** Property table of an object schema; other schemas show their type. */
function schemaHtml(schema: unknown): string {
  if (!schema || typeof schema !== 'object') return '<p class="muted">Any JSON value.</p>';
  const s = schema as Json;
  const props = s.properties as Record<string, Json> | undefined;
  if (!props) return `<p>${typeOf(s)}</p>`;
  const required = new Set((s.required ?? []) as string[]);
  const rows = Object.entries(props)
    .map(([name, p]) => {
      const desc = typeof p.description === 'string' ? prose(p.description) : '';
      const def = 'default' in p ? ` <span class="muted">default ${escapeHtml(JSON.stringify(p.default))}</span>` : '';
      return `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}</td><td>${typeOf(p)}${def}</td><td>${desc}</td></tr>`;
    })
    .join('\n');
  const closed = s.additionalProperties === false ? '<p class="muted">No other fields are accepted.</p>' : '';
  return `<table><thead><tr><th>field</th><th>type</th><th>description</th></tr></thead><tbody>\n${rows}\n</tbody></table>${closed}`;
}

function parametersHtml(params: Json[], openapi: Json): string {
  const resolved = params.map((p) => {
    if (typeof p.$ref === 'string') {
      const name = p.$ref.replace('#/components/parameters/', '');
      return (((openapi.components as Json | undefined)?.parameters as Json | undefined)?.[name] ?? {}) as Json;
    }
    return p;
  });
  const rows = resolved
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ''}</td><td>${escapeHtml(p.in)}</td><td>${typeOf(p.schema)}</td><td>${escapeHtml(p.description ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function contentSchema(content: unknown): { mediaType: string; schema: unknown } | undefined {
  if (!content || typeof content !== 'object') return undefined;
  const [mediaType, media] = Object.entries(content as Json)[0] ?? [];
  if (!mediaType) return undefined;
  return { mediaType, schema: (media as Json | undefined)?.schema };
}

function responsesHtml(responses: Json, openapi: Json): string {
  const items = Object.entries(responses).map(([status, r]) => {
    let resp = r as Json;
    if (typeof resp.$ref === 'string') {
      const name = resp.$ref.replace('#/components/responses/', '');
      resp = (((openapi.components as Json | undefined)?.responses as Json | undefined)?.[name] ?? {}) as Json;
    }
    const c = contentSchema(resp.content);
    const body = c ? ` — <code>${escapeHtml(c.mediaType)}</code> ${typeOf(c.schema)}` : '';
    return `<li><span class="status s${escapeHtml(status.charAt(0))}">${escapeHtml(status)}</span> ${prose(resp.description ?? '')}${body}</li>`;
  });
  return `<ul class="responses">${items.join('\n')}</ul>`;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'];

interface Operation {
  method: string;
  path: string;
  op: Json;
}

function operationsOf(openapi: Json): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries((openapi.paths ?? {}) as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op && typeof op === 'object') out.push({ method, path, op: op as Json });
    }
  }
  return out;
}

function operationHtml({ method, path, op }: Operation, openapi: Json): string {
  const id = typeof op.operationId === 'string' ? op.operationId : `${method}-${path}`;
  const scope = op['x-required-scope'];
  const security = op.security as unknown[] | undefined;
  const auth =
    Array.isArray(security) && security.length === 0
      ? '<span class="badge public">public</span>'
      : `<span class="badge">${scope === undefined ? 'any credential' : `scope <code>${escapeHtml(scope)}</code>`}</span>${op['x-admin-only'] ? ' <span class="badge admin">admin only</span>' : ''}`;
  const parts: string[] = [
    `<section class="op" id="${escapeHtml(anchor('op', id))}">`,
    `<h3><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code>${escapeHtml(path)}</code></h3>`,
    `<p>${prose(op.summary ?? '')} ${auth}</p>`,
  ];
  if (typeof op.description === 'string') parts.push(`<p>${prose(op.description)}</p>`);
  const params = (op.parameters ?? []) as Json[];
  if (params.length > 0) parts.push('<h4>Parameters</h4>', parametersHtml(params, openapi));
  const rb = op.requestBody as Json | undefined;
  if (rb) {
    const c = contentSchema(rb.content);
    parts.push(
      `<h4>Request body${rb.required ? '' : ' <span class="muted">(optional)</span>'}${c ? ` <code>${escapeHtml(c.mediaType)}</code>` : ''}</h4>`,
    );
    if (typeof rb.description === 'string') parts.push(`<p>${prose(rb.description)}</p>`);
    if (c) parts.push(schemaHtml(c.schema));
  }
  if (op.responses) parts.push('<h4>Responses</h4>', responsesHtml(op.responses as Json, openapi));
  parts.push('</section>');
  return parts.join('\n');
}

function eventsHtml(events: readonly EventDefinition[]): string {
  const sorted = [...events].sort((a, b) => a.category.localeCompare(b.category) || a.type.localeCompare(b.type));
  const rows = sorted
    .map(
      (d) =>
        `<tr><td><a href="#${escapeHtml(anchor('event', d.type))}"><code>${escapeHtml(d.type)}</code></a></td><td>${d.version}</td><td>${escapeHtml(d.origin)}</td><td><code>${escapeHtml(channelAddressOf(d) ?? '')}</code></td><td>${prose(d.description)}</td></tr>`,
    )
    .join('\n');
  const details = sorted
    .map(
      (d) =>
        `<section class="event" id="${escapeHtml(anchor('event', d.type))}"><h3><code>${escapeHtml(d.type)}</code> <span class="muted">v${d.version} · ${escapeHtml(d.origin)}</span></h3><p>${prose(d.description)}</p>${schemaHtml(toJsonSchema(d.data, 'input'))}</section>`,
    )
    .join('\n');
  return `<table><thead><tr><th>type</th><th>version</th><th>origin</th><th>subject</th><th>description</th></tr></thead><tbody>\n${rows}\n</tbody></table>\n${details}`;
}

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#fff}
header{background:#1d2330;color:#fff;padding:1.2rem 2rem}header a{color:#9cc4ff}
main{display:flex;gap:2rem;padding:0 2rem}nav{flex:0 0 17rem;position:sticky;top:0;align-self:flex-start;max-height:100vh;overflow:auto;padding:1rem 0;font-size:13px}
nav ul{list-style:none;padding-left:.6rem;margin:.2rem 0}nav a{text-decoration:none;color:#1d2330}article{flex:1;min-width:0;padding-bottom:4rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:14px}th,td{border:1px solid #dde2ea;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f4f6fa}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f4f6fa;padding:0 .2rem;border-radius:3px}
.op,.event,.schema{border-top:1px solid #dde2ea;padding:.4rem 0}.method{display:inline-block;min-width:4.2rem;text-align:center;color:#fff;border-radius:4px;font-size:13px;padding:.1rem .3rem}
.get{background:#2f7d32}.post{background:#1f5fbf}.patch,.put{background:#b26a00}.delete{background:#b3261e}
.badge{font-size:12px;background:#eef1f7;border-radius:10px;padding:.1rem .5rem;margin-left:.3rem}.admin{background:#fde7e7}.public{background:#e6f4ea}
.req{font-size:11px;color:#b3261e}.muted{color:#6b7385;font-size:13px}.status{display:inline-block;min-width:2.4rem;font-weight:600}.s2{color:#2f7d32}.s4,.s5{color:#b3261e}
.responses{padding-left:1rem;list-style:none}`;

/**
 * A self-contained, human-readable API reference page (inline CSS, no scripts, nothing fetched from elsewhere):
 * every operation with its method, path, summary, required scope, parameters, request and response schemas;
 * every named schema; and the event catalog. The gateway serves it at `/docs`.
 */
export function renderApiReferenceHtml(openapi: Record<string, unknown>, opts: ApiReferenceHtmlOptions = {}): string {
  const info = (openapi.info ?? {}) as Json;
  const ops = operationsOf(openapi);
  const byTag = new Map<string, Operation[]>();
  for (const o of ops) {
    const tag = ((o.op.tags as string[] | undefined) ?? ['Other'])[0] ?? 'Other';
    byTag.set(tag, [...(byTag.get(tag) ?? []), o]);
  }
  const tags = [...byTag.keys()].sort();
  const schemas = (((openapi.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>) ?? {};
  const events = opts.events ?? latestDefinitions();
  const openApiUrl = opts.openApiUrl ?? '/openapi.json';
  const asyncApiUrl = opts.asyncApiUrl === undefined ? null : opts.asyncApiUrl;

  const nav = [
    '<nav><strong>Operations</strong>',
    ...tags.map(
      (t) =>
        `<div>${escapeHtml(t)}<ul>${(byTag.get(t) ?? [])
          .map(
            (o) =>
              `<li><a href="#${escapeHtml(anchor('op', String(o.op.operationId ?? `${o.method}-${o.path}`)))}">${escapeHtml(o.method.toUpperCase())} ${escapeHtml(o.path)}</a></li>`,
          )
          .join('')}</ul></div>`,
    ),
    '<p><a href="#schemas"><strong>Schemas</strong></a></p>',
    '<p><a href="#event-catalog"><strong>Event catalog</strong></a></p>',
    '</nav>',
  ].join('\n');

  const body = [
    '<article>',
    typeof info.description === 'string' ? `<p>${prose(info.description)}</p>` : '',
    `<p>Authenticate with <code>Authorization: Bearer &lt;API key or OAuth 2.0 access token&gt;</code>. Errors are <code>application/problem+json</code> (RFC 9457). See the <a href="#event-catalog">event catalog</a> for every event type.</p>`,
    ...tags.map(
      (t) =>
        `<h2 id="${escapeHtml(anchor('tag', t))}">${escapeHtml(t)}</h2>\n${(byTag.get(t) ?? []).map((o) => operationHtml(o, openapi)).join('\n')}`,
    ),
    '<h2 id="schemas">Schemas</h2>',
    ...Object.entries(schemas).map(
      ([name, s]) =>
        `<section class="schema" id="${escapeHtml(anchor('schema', name))}"><h3>${escapeHtml(name)}</h3>${typeof s.description === 'string' ? `<p>${prose(s.description)}</p>` : ''}${schemaHtml(s)}</section>`,
    ),
    '<h2 id="event-catalog">Event catalog</h2>',
    `<p>Events are CloudEvents 1.0 envelopes published with <code>POST /v1/events</code> (external events) or appended by the owning service (domain events).${asyncApiUrl ? ` Machine-readable: <a href="${escapeHtml(asyncApiUrl)}">AsyncAPI</a>.` : ''}</p>`,
    eventsHtml(events),
    '</article>',
  ].join('\n');

  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(info.title ?? 'API reference')}</title>`,
    `<style>${CSS}</style></head><body>`,
    `<header><h1>${escapeHtml(info.title ?? 'API reference')} <span class="muted">${escapeHtml(info.version ?? '')}</span></h1><p>OpenAPI 3.1: <a href="${escapeHtml(openApiUrl)}">${escapeHtml(openApiUrl)}</a></p></header>`,
    `<main>${nav}\n${body}</main>`,
    '</body></html>',
  ].join('\n');
}
