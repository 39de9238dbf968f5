import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { at, keysAt, listAt } from '@pep/testing';
import { type AnySchema, Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

/**
 * Validates requests against GitHub's published OpenAPI description (`@octokit/openapi`,
 * api.github.com.json): the operation must exist, and its path and query parameters and JSON body must match
 * the description's schemas. Schemas are compiled on first use per operation.
 */
/** A JSON object of the description (a path item, an operation, a parameter, a schema): read with `at`. */
type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A node of the description as an ajv schema: a JSON object (or a boolean schema); anything else accepts nothing more than `{}`. */
const schemaOf = (v: unknown): AnySchema => (typeof v === 'boolean' || isObject(v) ? v : {});

export interface Violation {
  method: string;
  path: string;
  operation: string | null;
  errors: string[];
}

export interface MatchedOperation {
  operationId: string;
  template: string;
  params: Record<string, string>;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

let shared: { doc: JsonObject; ajv: Ajv } | undefined;
function load() {
  if (shared) return shared;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const doc: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!isObject(doc)) throw new TypeError(`${file} is not an OpenAPI description (not a JSON object)`);
  const ajv = new Ajv({
    strict: false,
    logger: false,
    allErrors: true,
    validateFormats: true,
    keywords: ['x-github', 'x-multi-segment', 'example', 'discriminator'],
  });
  addFormats(ajv);
  ajv.addSchema(doc, 'gh.json');
  shared = { doc, ajv };
  return shared;
}

/** Path parameters that may span slashes (git refs, file paths). */
const MULTI_SEGMENT = new Set(['{ref}', '{path}', '{basehead}']);

const pointer = (parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** The node a `$ref` points at (a local JSON pointer into the description), or the node itself when it is no reference. */
function resolveRef(doc: JsonObject, node: unknown): unknown {
  const ref = at(node, '$ref');
  if (!ref) return node;
  const parts = String(ref).replace(/^#\//, '').split('/');
  return at(doc, ...parts.map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')));
}

function coerce(value: string, schema: unknown): unknown {
  const type = at(schema, 'type');
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

export function createOpenApiValidator() {
  const { doc, ajv } = load();
  const templates = keysAt(doc, 'paths').map((t) => ({ t, segs: t.split('/').slice(1) }));
  const compiled = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: unknown) => {
    let v = compiled.get(key);
    if (!v) {
      v = ajv.compile(schemaOf(schema));
      compiled.set(key, v);
    }
    return v;
  };

  function match(pathname: string): { template: string; params: Record<string, string> } | null {
    const segs = pathname.split('/').slice(1).map(decodeURIComponent);
    // Exact segment counts first (most literal segments wins), then a last parameter that spans slashes (a git ref).
    let best: { template: string; params: Record<string, string>; literals: number } | null = null;
    for (const { t, segs: ts } of templates) {
      const greedy = ts.length < segs.length && MULTI_SEGMENT.has(ts[ts.length - 1] ?? '');
      if (ts.length !== segs.length && !greedy) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < ts.length; i++) {
        const tsg = ts[i] as string;
        const m = /^\{(.+)\}$/.exec(tsg);
        if (m) {
          const value = i === ts.length - 1 && greedy ? segs.slice(i).join('/') : (segs[i] as string);
          if (!value) {
            ok = false;
            break;
          }
          params[m[1] as string] = value;
        } else if (tsg === segs[i]) literals++;
        else {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const score = literals * 2 + (greedy ? 0 : 1);
      if (!best || score > best.literals) best = { template: t, params, literals: score };
    }
    return best ? { template: best.template, params: best.params } : null;
  }

  return {
    /** Validates one request; returns the matched operation and the violations (empty when it follows the description). */
    validate(method: string, url: URL, body: unknown): { operation: MatchedOperation | null; errors: string[] } {
      const m = match(url.pathname);
      const item = m ? at(doc, 'paths', m.template) : undefined;
      const op = at(item, method.toLowerCase());
      if (!m || !isObject(op)) return { operation: null, errors: [`${method} ${url.pathname} is not an operation of api.github.com`] };
      const operationId = String(at(op, 'operationId'));
      const errors: string[] = [];
      const params = [...listAt(item, 'parameters'), ...listAt(op, 'parameters')].map((p) => {
        const r = resolveRef(doc, p);
        return { in: at(r, 'in'), name: String(at(r, 'name')), required: at(r, 'required'), schema: at(r, 'schema') };
      });
      for (const p of params) {
        const raw = p.in === 'path' ? m.params[p.name] : p.in === 'query' ? url.searchParams.get(p.name) : undefined;
        if (p.in !== 'path' && p.in !== 'query') continue;
        if (raw === undefined || raw === null) {
          if (p.required) errors.push(`${p.in} parameter ${p.name} is required`);
          continue;
        }
        const schema = resolveRef(doc, p.schema ?? {});
        const v = compile(`${operationId}:${p.in}:${p.name}`, schema);
        if (!v(coerce(raw, schema))) errors.push(`${p.in} parameter ${p.name}: ${ajv.errorsText(v.errors)}`);
      }
      const known = new Set(params.filter((p) => p.in === 'query').map((p) => p.name));
      for (const k of url.searchParams.keys()) if (!known.has(k)) errors.push(`query parameter ${k} is not described`);
      const rb = resolveRef(doc, at(op, 'requestBody') ?? {});
      if (at(rb, 'content', 'application/json', 'schema')) {
        if (body === undefined) {
          if (at(rb, 'required')) errors.push('a JSON body is required');
        } else {
          const ref = `gh.json#/${pointer(['paths', m.template, method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema'])}`;
          const bodyRef = at(op, 'requestBody', '$ref');
          const v = compile(`${operationId}:body`, {
            $ref: bodyRef ? `gh.json${String(bodyRef).slice(1)}/content/application~1json/schema` : ref,
          });
          if (!v(body)) errors.push(`body: ${ajv.errorsText(v.errors, { dataVar: 'body' })}`);
        }
      } else if (body !== undefined && method !== 'GET') {
        errors.push('this operation takes no JSON body');
      }
      return { operation: { operationId, template: m.template, params: m.params }, errors };
    },
  };
}
export type OpenApiValidator = ReturnType<typeof createOpenApiValidator>;
