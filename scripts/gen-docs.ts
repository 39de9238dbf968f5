/**
 * Generates the reference docs from the zod contracts (DESIGN.md rule 6: never written by hand):
 *   docs/reference/openapi.json              OpenAPI 3.1, exactly what the gateway serves at /openapi.json
 *   docs/reference/asyncapi.json             AsyncAPI 3.0 of the event catalog (latest versions)
 *   docs/reference/schemas/<type>.v<N>.json  JSON Schema 2020-12 of every event type and version (whole envelope)
 *   docs/reference/events.md                 the readable event catalog
 *   docs/reference/api.md                    the readable list of operations
 * Run `pnpm gen:docs`. contracts/test/generated-docs.unit.spec.ts fails when the committed files are stale.
 * Deterministic: sorted paths, types and components, no timestamps.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildAsyncApi, eventJsonSchemas, renderApiMarkdown, renderEventCatalogMarkdown } from '@pep/apidocs';
// The contracts index re-exports every context folder, so importing it registers every event and route
// (contracts/test/generated-docs.unit.spec.ts checks that no context folder is left out of it).
import { allDefinitions, businessEventExamples, latestDefinitions } from '@pep/contracts';
import { gatewayOpenApi } from '../services/gateway/src/ops/openapi.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE_DIR = 'docs/reference';
/** The server URL written into the committed OpenAPI document (the gateway's default address). */
export const DOCS_SERVER_URL = 'http://127.0.0.1:8080';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Every generated file, keyed by its path relative to the repository root, sorted. */
export function generateDocs(): Map<string, string> {
  const files = new Map<string, string>();
  const openapi = gatewayOpenApi(DOCS_SERVER_URL);
  files.set(`${REFERENCE_DIR}/openapi.json`, json(openapi));
  files.set(`${REFERENCE_DIR}/asyncapi.json`, json(buildAsyncApi(latestDefinitions())));
  for (const [name, schema] of Object.entries(eventJsonSchemas(allDefinitions()))) {
    files.set(`${REFERENCE_DIR}/schemas/${name}.json`, json(schema));
  }
  files.set(
    `${REFERENCE_DIR}/events.md`,
    renderEventCatalogMarkdown(latestDefinitions(), { allVersions: allDefinitions(), examples: businessEventExamples }),
  );
  files.set(`${REFERENCE_DIR}/api.md`, renderApiMarkdown(openapi));
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** The files currently under docs/reference, relative to the repository root. */
export function committedDocs(root = REPO_ROOT): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else out.set(relative(root, full).split('\\').join('/'), readFileSync(full, 'utf8'));
    }
  };
  walk(join(root, REFERENCE_DIR));
  return out;
}

function main(): void {
  const files = generateDocs();
  const before = committedDocs();
  let written = 0;
  for (const [path, content] of files) {
    if (before.get(path) === content) continue;
    const full = join(REPO_ROOT, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    written++;
  }
  let removed = 0;
  for (const path of before.keys()) {
    if (!files.has(path)) {
      rmSync(join(REPO_ROOT, path));
      removed++;
    }
  }
  console.log(
    `gen:docs: ${files.size} files in ${REFERENCE_DIR} (${written} written, ${removed} removed, ${files.size - written} unchanged)`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
