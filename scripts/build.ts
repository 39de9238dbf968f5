/**
 * `pnpm build`: compiles the contracts, every lib and every service ahead of time to plain JavaScript in `dist/`
 * (tsc with tsconfig.build.json: legacy decorators with their metadata, `.ts` imports rewritten to `.js`), so the
 * services run on Node with no runtime transform: `node dist/services/<name>/src/main.js`.
 *
 * The workspace packages (`@pep/events`, ...) export their TypeScript sources for the tests and tools; the
 * compiled services find the compiled packages instead through `dist/node_modules/@pep/<name>`, a link to the
 * package's folder in dist with a package.json whose exports name the `.js` files. Node resolves a bare import
 * by walking up from the importing file, so `dist/` is self-contained for the workspace and falls through to
 * the root `node_modules` for everything else (the image copies exactly those two).
 *
 * Runs with Node's own type stripping (`node scripts/build.ts`): no dependency but TypeScript. Importable too:
 * `buildDist()` is what `npm start`, the footprint bench and the deploy test call.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export class BuildError extends Error {
  override name = 'BuildError';
}

export interface BuildResult {
  outDir: string;
  /** Services with a compiled entry point, `<outDir>/services/<name>/src/main.js`. */
  services: string[];
  /** Workspace packages the services import, linked as `<outDir>/node_modules/<name>`. */
  packages: string[];
  ms: number;
}

interface Manifest {
  name?: string;
  type?: string;
  exports?: Record<string, string>;
}

/** The workspace's package folders, relative to the root, as pnpm-workspace.yaml lists them (without tests). */
function workspacePackages(): string[] {
  const out: string[] = ['contracts'];
  for (const group of ['libs', 'services']) {
    for (const d of readdirSync(join(ROOT, group)).sort()) if (existsSync(join(ROOT, group, d, 'package.json'))) out.push(`${group}/${d}`);
  }
  return out;
}

/** The service folders that have an entry point. */
export function serviceNames(): string[] {
  return readdirSync(join(ROOT, 'services'))
    .filter((s) => existsSync(join(ROOT, 'services', s, 'src', 'main.ts')))
    .sort();
}

/**
 * Node flags every compiled service runs with (`npm start`, the image, through `dist/services/<name>/node-flags`).
 * - V8 grows the young generation's semi-spaces up to 16 MiB each on a burst of start-up allocation and keeps
 *   them: most of a small service's idle memory beyond its live heap. 2 MiB semi-spaces scavenge more often and
 *   hold the idle RSS near the live heap; the gateway, which allocates per request at a far higher rate, keeps 8.
 * - `--optimize-for-size` (V8's memory-over-speed mode: ~10 MiB less idle heap in the rollback-orchestrator) for the
 *   services whose work is not throughput-bound; not for the gateway and the dispatcher, whose benches
 *   (`bench:ingest`, `bench:dispatch`) hold throughput floors.
 * Figures: `pnpm bench:footprint`, docs/operations/kubernetes.md.
 */
export function runtimeFlags(service: string): string[] {
  if (service === 'gateway') return ['--max-semi-space-size=8'];
  if (service === 'webhook-dispatcher') return ['--max-semi-space-size=2'];
  return ['--max-semi-space-size=2', '--optimize-for-size'];
}

/**
 * Environment every compiled service runs with (the image sets the same, checked by tests/deploy): glibc keeps
 * one malloc arena per thread that allocates (libuv's pool, V8's workers) and returns little of it; two arenas
 * save a few MiB of idle RSS at no measurable cost.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '2' };

/** Where `services/<name>/src/main.ts` lands after a build into `outDir`. */
export function compiledEntry(name: string, outDir = join(ROOT, 'dist')): string {
  return join(outDir, 'services', name, 'src', 'main.js');
}

function compiledExports(exportsMap: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, target] of Object.entries(exportsMap)) out[key] = target.replace(/\.ts$/, '.js');
  return out;
}

export function buildDist(opts: { outDir?: string; log?: (line: string) => void } = {}): BuildResult {
  const started = Date.now();
  const outDir = opts.outDir ?? join(ROOT, 'dist');
  const log = opts.log ?? (() => undefined);
  // From clean: a deleted source file must not survive as a stale .js.
  rmSync(outDir, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new BuildError(`tsc -p tsconfig.build.json failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);

  const packages: string[] = [];
  for (const dir of workspacePackages()) {
    const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
    if (!manifest.name) continue;
    const target = join(outDir, dir);
    if (!existsSync(target)) continue; // a package with no compiled sources (none today)
    const exportsMap = compiledExports(manifest.exports ?? {});
    for (const [key, file] of Object.entries(exportsMap)) {
      if (!existsSync(join(target, file)))
        throw new BuildError(`${manifest.name} exports ${key} as ${file}, which the build did not produce`);
    }
    writeFileSync(
      join(target, 'package.json'),
      `${JSON.stringify({ name: manifest.name, private: true, type: manifest.type ?? 'module', exports: exportsMap }, null, 2)}\n`,
    );
    if (dir.startsWith('services/')) continue; // a service is run, never imported
    const link = join(outDir, 'node_modules', manifest.name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(relative(dirname(link), target), link, 'dir');
    packages.push(manifest.name);
  }
  const services = serviceNames();
  for (const s of services) {
    if (!existsSync(compiledEntry(s, outDir))) throw new BuildError(`no compiled entry for ${s}`);
    // The image's CMD reads them (deploy/docker/Dockerfile): one source for the flags, here.
    writeFileSync(join(outDir, 'services', s, 'node-flags'), `${runtimeFlags(s).join(' ')}\n`);
  }
  const ms = Date.now() - started;
  log(`built ${services.length} services and ${packages.length} packages into ${relative(ROOT, outDir) || outDir} in ${ms} ms`);
  return { outDir, services, packages, ms };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    buildDist({ log: (line) => process.stdout.write(`${line}\n`) });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
