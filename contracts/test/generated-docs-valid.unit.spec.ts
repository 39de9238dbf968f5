import { createRequire } from 'node:module';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { businessEventExamples } from '../index.ts';
import { generateDocs } from '../../scripts/gen-docs.ts';

// The generated documents checked against the specifications' own JSON Schemas.
const docs = generateDocs();
const read = (path: string) => JSON.parse(docs.get(`docs/reference/${path}`) as string) as Record<string, unknown>;
const require = createRequire(import.meta.url);

describe('generated documents are valid', () => {
  it('openapi.json is a valid OpenAPI 3.1 document whose every $ref resolves', async () => {
    const validator = new Validator();
    const result = await validator.validate(read('openapi.json'));
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('asyncapi.json is a valid AsyncAPI 3.0 document', () => {
    const specs = require('@asyncapi/specs') as { schemasWithoutId: Record<string, object> };
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(specs.schemasWithoutId['3.0.0'] as object);
    const ok = validate(read('asyncapi.json'));
    expect(ok ? [] : validate.errors?.slice(0, 5)).toEqual([]);
  });

  it('every local $ref of asyncapi.json resolves', () => {
    const doc = read('asyncapi.json');
    const refs = new Set<string>();
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.add(x);
          else walk(x);
        }
      }
    };
    walk(doc);
    const unresolved = [...refs].filter((ref) => {
      let node: unknown = doc;
      for (const part of ref.replace(/^#\//, '').split('/'))
        node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      return node === undefined;
    });
    expect(unresolved).toEqual([]);
  });

  it('each event schema file compiles as JSON Schema 2020-12 and accepts the catalog example', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const files = [...docs.keys()].filter((p) => p.startsWith('docs/reference/schemas/'));
    expect(files.length).toBeGreaterThanOrEqual(23);
    for (const file of files) {
      const schema = JSON.parse(docs.get(file) as string);
      const validate = ajv.compile(schema);
      const type = schema.properties.type.const as string;
      const version = schema.properties.schemaversion.const as number;
      const example = businessEventExamples[type];
      if (!example || version !== (type === 'lead.updated' ? 2 : 1)) continue;
      const event = {
        specversion: '1.0',
        id: 'e1',
        source: 's',
        type,
        time: '2025-01-01T00:00:00Z',
        schemaversion: version,
        data: example,
      };
      expect(validate(event), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(validate({ ...event, data: { ...example, unexpected: 1 } }), file).toBe(false);
    }
  });
});
