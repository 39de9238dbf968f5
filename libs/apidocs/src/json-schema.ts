import { z } from 'zod';

export type Json = Record<string, unknown>;
export type SchemaTarget = 'draft-2020-12' | 'draft-07';
export type SchemaIo = 'input' | 'output';

/** JSON with object keys sorted, so equal schemas compare equal whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value && typeof value === 'object') {
    const out: Json = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeysDeep((value as Json)[k]);
    return out;
  }
  return value;
}

function mapRefs(value: unknown, map: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapRefs(v, map));
  if (value && typeof value === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) out[k] = k === '$ref' && typeof v === 'string' ? map(v) : mapRefs(v, map);
    return out;
  }
  return value;
}

/** Plain zod → JSON Schema with the options every generator here uses. */
export function toJsonSchema(schema: z.ZodType, io: SchemaIo, target: SchemaTarget = 'draft-2020-12'): Json {
  return z.toJSONSchema(schema, { target, io, unrepresentable: 'any', cycles: 'ref', reused: 'inline' }) as Json;
}

/**
 * Collects named schemas (zod `.meta({ id })`) into one components section (OpenAPI `components.schemas`,
 * AsyncAPI `components.schemas`) and rewrites references to point there. The same id seen with a different
 * shape (a body's input form next to its output form, say) gets a suffixed name, so nothing is overwritten.
 */
export class SchemaComponents {
  private readonly byName = new Map<string, Json>();

  constructor(
    private readonly refBase: string,
    private readonly target: SchemaTarget = 'draft-2020-12',
  ) {}

  /** Adds a zod schema; returns the JSON Schema to embed (a `$ref` when the schema itself is named). */
  add(schema: z.ZodType, io: SchemaIo): Json {
    const js = toJsonSchema(schema, io, this.target);
    return this.addJson(js, io === 'input' ? 'Input' : 'Output');
  }

  /** Adds an already converted JSON Schema (with `$defs`/`definitions`); returns it with rewritten refs. */
  addJson(js: Json, suffix = 'Alt'): Json {
    const defsKey = this.target === 'draft-07' ? 'definitions' : '$defs';
    const localPrefix = `#/${defsKey}/`;
    const { [defsKey]: rawDefs, $schema: _schema, ...root } = js;
    const defs = (rawDefs ?? {}) as Record<string, Json>;
    const rename = new Map<string, string>(Object.keys(defs).map((id) => [id, id]));
    const rewrite = (v: unknown): unknown =>
      mapRefs(v, (ref) => {
        if (!ref.startsWith(localPrefix)) return ref;
        const id = decodeURIComponent(ref.slice(localPrefix.length));
        return `${this.refBase}${rename.get(id) ?? id}`;
      });
    // Pick a name for each definition: its id, or a suffixed id when that name holds a different shape.
    // Renaming one definition changes the text of those referencing it, hence the small fixed-point loop.
    for (let round = 0; round < 8; round++) {
      let changed = false;
      for (const id of Object.keys(defs).sort()) {
        const candidate = rewrite(defs[id]);
        let name = rename.get(id) ?? id;
        let n = 1;
        while (this.byName.has(name) && canonicalJson(this.byName.get(name)) !== canonicalJson(candidate)) {
          n++;
          name = n === 2 ? `${id}${suffix}` : `${id}${suffix}${n - 1}`;
        }
        if (name !== rename.get(id)) {
          rename.set(id, name);
          changed = true;
        }
      }
      if (!changed) break;
    }
    for (const id of Object.keys(defs).sort()) {
      const name = rename.get(id) ?? id;
      if (!this.byName.has(name)) this.byName.set(name, rewrite(defs[id]) as Json);
    }
    return rewrite(root) as Json;
  }

  /** Registers a hand-written schema under a fixed name (first registration wins). */
  set(name: string, schema: Json): void {
    if (!this.byName.has(name)) this.byName.set(name, schema);
  }

  ref(name: string): Json {
    return { $ref: `${this.refBase}${name}` };
  }

  /** All components, sorted by name. */
  toObject(): Record<string, Json> {
    const out: Record<string, Json> = {};
    for (const name of [...this.byName.keys()].sort()) out[name] = this.byName.get(name) as Json;
    return out;
  }
}

/** Whether a schema accepts `undefined` (an optional body, say). */
export function acceptsUndefined(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}
