import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { committedDocs, generateDocs, REPO_ROOT } from '../../scripts/gen-docs.ts';

const HOW_TO_FIX = 'run `pnpm gen:docs` and commit docs/reference';

describe('generated reference docs (docs/reference)', () => {
  const generated = generateDocs();
  const committed = committedDocs();

  it('every generated file is committed and up to date', () => {
    const stale: string[] = [];
    for (const [path, content] of generated) {
      const current = committed.get(path);
      if (current === undefined) stale.push(`${path} is missing`);
      else if (current !== content) stale.push(`${path} is stale`);
    }
    expect(stale, `${stale.join('; ')}: ${HOW_TO_FIX}`).toEqual([]);
  });

  it('no committed file is left over from a type or version that no longer exists', () => {
    const leftovers = [...committed.keys()].filter((p) => !generated.has(p));
    expect(leftovers, `${leftovers.join(', ')} no longer generated: ${HOW_TO_FIX}`).toEqual([]);
  });

  it('covers OpenAPI, AsyncAPI, the markdown catalogs and one schema per event type and version', () => {
    for (const f of ['openapi.json', 'asyncapi.json', 'events.md', 'api.md']) expect(generated.has(`docs/reference/${f}`)).toBe(true);
    expect(generated.has('docs/reference/schemas/lead.updated.v1.json')).toBe(true);
    expect(generated.has('docs/reference/schemas/lead.updated.v2.json')).toBe(true);
    expect(generated.has('docs/reference/schemas/partner.created.v1.json')).toBe(true);
  });

  it('is deterministic (no timestamps, stable order)', () => {
    expect([...generateDocs()]).toEqual([...generated]);
  });

  it('the contracts index re-exports every context folder, so the generator sees every event and route', () => {
    const index = readFileSync(join(REPO_ROOT, 'contracts/index.ts'), 'utf8');
    const contexts = readdirSync(join(REPO_ROOT, 'contracts')).filter((d) => {
      const dir = join(REPO_ROOT, 'contracts', d);
      if (!statSync(dir).isDirectory() || ['test', 'node_modules', 'catalog', 'envelope', 'http'].includes(d)) return false;
      return readdirSync(dir).some((f) => f.endsWith('.ts'));
    });
    const missing = contexts.filter((d) => !new RegExp(`from '\\./${d}/`).test(index));
    expect(missing, `contracts/index.ts does not export: ${missing.join(', ')}`).toEqual([]);
  });
});
