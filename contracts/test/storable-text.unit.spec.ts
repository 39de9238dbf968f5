// Every string field of every contract is text the platform can store (issue 9, item 2), and every id field of a
// route has a documented alphabet (item 1). The walker goes through the route table (params, query, body,
// success) and the whole event catalog, so a field added later without `safeText()` & co. fails here.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  allDefinitions,
  CreatePartnerBody,
  envelopeAttributes,
  isStorableJson,
  isStorableText,
  PlatformId,
  routes,
  STORABLE_TEXT_MESSAGE,
  storableJsonCheck,
  storableTextCheck,
} from '../index.ts';

interface Def {
  type: string;
  checks?: unknown[];
  [k: string]: unknown;
}
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/** Calls `visit` for every schema reachable from `schema`, with its dotted path. */
function walk(schema: unknown, path: string, visit: (s: unknown, def: Def, path: string) => void, seen = new Set<unknown>()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  const def = defOf(schema);
  visit(schema, def, path);
  const next = (s: unknown, p: string) => s !== undefined && walk(s, p, visit, seen);
  switch (def.type) {
    case 'object':
      for (const [k, v] of Object.entries(def.shape as Record<string, unknown>)) next(v, path ? `${path}.${k}` : k);
      if (def.catchall) next(def.catchall, `${path}.*`);
      break;
    case 'array':
      next(def.element, `${path}[]`);
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      next(def.innerType, path);
      break;
    case 'pipe':
      next(def.in, path);
      next(def.out, path);
      break;
    case 'union':
      for (const o of def.options as unknown[]) next(o, path);
      break;
    case 'intersection':
      next(def.left, path);
      next(def.right, path);
      break;
    case 'record':
      next(def.keyType, `${path}{key}`);
      next(def.valueType, `${path}{}`);
      break;
    case 'tuple':
      for (const [i, item] of (def.items as unknown[]).entries()) next(item, `${path}[${i}]`);
      if (def.rest) next(def.rest, `${path}[]`);
      break;
    case 'lazy':
      next((def.getter as () => unknown)(), path);
      break;
    default:
      break;
  }
}

/** Every (label, schema) pair the contracts define. */
function contractSchemas(): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const r of routes) {
    const at = `${r.operationId} (${r.method} ${r.path})`;
    if (r.params) out.push([`${at} params`, r.params]);
    if (r.query) out.push([`${at} query`, r.query]);
    if (r.body) out.push([`${at} body`, r.body]);
    if (r.success.schema) out.push([`${at} success`, r.success.schema]);
  }
  for (const d of allDefinitions()) out.push([`event ${d.type} v${d.version} data`, d.data]);
  for (const [k, v] of Object.entries(envelopeAttributes)) out.push([`envelope ${k}`, v]);
  return out;
}

describe('storable text', () => {
  it('refuses U+0000 and lone surrogates, keeps paired surrogates and other control characters', () => {
    expect(isStorableText('plain, été, 😀, \t\n\u0001\u007f')).toBe(true);
    expect(isStorableText('a\u0000b')).toBe(false);
    expect(isStorableText('a\ud800b')).toBe(false);
    expect(isStorableText('\udc00')).toBe(false);
    expect(isStorableJson({ a: [{ b: 'ok' }], 'k\u0000': 1 })).toBe(false);
    expect(isStorableJson({ a: [{ b: 'x\ud83d' }] })).toBe(false);
    expect(isStorableJson({ a: [1, null, true, { b: '😀' }] })).toBe(true);
  });

  it('answers a NUL or a lone surrogate with one issue naming the field', () => {
    for (const bad of ['Ac\u0000me', 'Acme\ud800']) {
      const r = CreatePartnerBody.safeParse({ name: bad, type: 'technology', contact_email: 'ops@acme.example.com' });
      expect(r.success).toBe(false);
      expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['name', STORABLE_TEXT_MESSAGE]]);
    }
  });

  it('is what every string field of every route and every event uses', () => {
    const offenders: string[] = [];
    let strings = 0;
    for (const [label, schema] of contractSchemas()) {
      walk(schema, '', (_s, def, path) => {
        const where = `${label}: ${path || '(root)'}`;
        if (def.type === 'string') {
          strings++;
          if (!def.checks?.includes(storableTextCheck)) offenders.push(`${where} is a string without safeText()`);
        }
        // (The envelope's own `data` is not walked here: each type's data schema is, as its own entry.)
        if ((def.type === 'unknown' || def.type === 'any') && !def.checks?.includes(storableJsonCheck)) {
          offenders.push(`${where} is free-form without safeJson()`);
        }
      });
    }
    expect(offenders).toEqual([]);
    expect(strings).toBeGreaterThan(500);
  });
});

describe('ids at the edge', () => {
  const patternsOf = (s: unknown): string[] => {
    const found: string[] = [];
    walk(s, '', (_x, def) => {
      for (const c of def.checks ?? []) {
        const cd = defOf(c) as Def & { format?: string; pattern?: RegExp };
        if (cd.format === 'regex' && cd.pattern) found.push(cd.pattern.source);
      }
      // An enum, a literal or a number (a dead letter's integer id) has a closed alphabet too.
      if (def.type === 'enum' || def.type === 'literal' || def.type === 'number') found.push(def.type);
    });
    return found;
  };

  it('gives every path param and every id-naming query or body field an alphabet', () => {
    const loose: string[] = [];
    for (const r of routes) {
      for (const [where, obj] of [
        ['path', r.params],
        ['query', r.query],
        ['body', r.body],
      ] as const) {
        if (!obj) continue;
        let shape: Record<string, unknown> | undefined;
        walk(obj, '', (_s, def, path) => {
          if (path === '' && def.type === 'object') shape = def.shape as Record<string, unknown>;
        });
        for (const [k, v] of Object.entries(shape ?? {})) {
          const namesId = where === 'path' || /(^id|_id|^starting_after)$/.test(k);
          if (namesId && patternsOf(v).length === 0) loose.push(`${r.operationId} ${where} ${k}`);
        }
      }
    }
    expect(loose).toEqual([]);
  });

  it('accepts what newId mints and nothing else', () => {
    const partnerId = PlatformId('prt') as z.ZodType;
    expect(partnerId.safeParse('prt_01jd8x6q3c9v2f5n7w0y4z1mbk').success).toBe(true);
    for (const bad of [
      'prt_01JD8X6Q3C9V2F5N7W0Y4Z1MBK',
      'app_01jd8x6q3c9v2f5n7w0y4z1mbk',
      'prt_01jd8x6q3c9v2f5n7w0y4z1mb',
      'prt_01jd8x6q3c9v2f5n7w0y4z1mbi',
      'foo.bar',
      'prt_\u0000',
    ]) {
      expect(partnerId.safeParse(bad).success, bad).toBe(false);
    }
  });
});
