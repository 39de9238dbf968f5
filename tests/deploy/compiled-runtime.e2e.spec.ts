import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import { createRequire } from 'node:module';
import { createTestBus, freePort, REPO_ROOT, serviceEnv, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildResult, buildDist, compiledEntry, RUNTIME_ENV, runtimeFlags, serviceNames } from '../../scripts/build.ts';

// The production runtime: every service compiled ahead of time (`pnpm build`), started with plain `node` (no
// --import, no NODE_OPTIONS, no transform) from the tree the image copies, and healthy. Built into a folder of
// its own inside the checkout (the root node_modules must be above it, as in the image), so a developer's dist/
// is left alone.
const outDir = join(REPO_ROOT, '.reports', `dist-test-${randomBytes(3).toString('hex')}`);
let built: BuildResult;

beforeAll(() => {
  built = buildDist({ outDir });
});
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

/** The Dockerfile's stages by name, with their instructions. */
function dockerStages(): Map<string, { from: string; lines: string[] }> {
  const text = readFileSync(join(REPO_ROOT, 'deploy/docker/Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const stages = new Map<string, { from: string; lines: string[] }>();
  let current: { from: string; lines: string[] } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { from: from[1] as string, lines: [] };
      stages.set(from[2] ?? `#${stages.size}`, current);
    } else current?.lines.push(line);
  }
  return stages;
}

describe('compiled runtime', () => {
  it('compiles every service, with decorator metadata and .js imports, into a self-contained dist/', () => {
    expect(built.services).toEqual(serviceNames());
    for (const s of built.services) {
      expect(existsSync(compiledEntry(s, outDir)), s).toBe(true);
      expect(readFileSync(join(outDir, 'services', s, 'node-flags'), 'utf8').trim()).toBe(runtimeFlags(s).join(' '));
    }
    const gatewayModule = readFileSync(join(outDir, 'services/gateway/src/identity/identity.module.js'), 'utf8');
    expect(gatewayModule).toMatch(/__metadata\("design:paramtypes"/);
    expect(readFileSync(compiledEntry('gateway', outDir), 'utf8')).not.toMatch(/from ['"]\.[^'"]*\.ts['"]/);
    // A workspace import from compiled code resolves to compiled code, never to a package's TypeScript source.
    const req = createRequire(compiledEntry('partner-registry', outDir));
    for (const pkg of built.packages) {
      const resolved = realpathSync(req.resolve(pkg));
      expect(resolved.startsWith(realpathSync(outDir)), `${pkg} → ${resolved}`).toBe(true);
      expect(resolved).toMatch(/\.js$/);
    }
  });

  it('starts a compiled service with plain node and it becomes ready', async () => {
    const names = testNames('aot');
    const { cleanup } = await createTestBus(names, ['partner-registry']);
    const port = await freePort();
    const { NODE_OPTIONS: _dropped, ...env } = process.env;
    const child = spawn(process.execPath, [...runtimeFlags('partner-registry'), compiledEntry('partner-registry', outDir)], {
      cwd: outDir,
      env: { ...env, ...RUNTIME_ENV, ...serviceEnv(names, { HEALTH_PORT: String(port), NODE_ENV: 'production' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const ready = await waitUntil(
        async () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${out}`);
          const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return r?.status === 200 ? ((await r.json()) as { status: string; checks: Record<string, string> }) : undefined;
        },
        { timeoutMs: 60_000, what: 'the compiled partner-registry to be ready' },
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${out.slice(-3000)}`);
      });
      expect(ready.status).toBe('ready');
      expect(ready.checks).toMatchObject({ nats: 'ok', postgres: 'ok' });
      // Plain node: no loader or transform in the process' arguments.
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline).not.toContain('--import');
      expect(cmdline.join(' ')).not.toMatch(/tsx/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await cleanup();
    }
  });

  it('the Dockerfile builds in stages and runs dist/ as a non-root user with a health check', () => {
    const stages = dockerStages();
    expect([...stages.keys()]).toEqual(['build', 'portal', 'prod-deps', 'runtime']);
    const build = stages.get('build')!.lines.join('\n');
    expect(build).toMatch(/pnpm install --frozen-lockfile/);
    expect(build).toMatch(/RUN node scripts\/build\.ts/);
    expect(stages.get('prod-deps')!.from).toBe('build');
    expect(stages.get('prod-deps')!.lines.join('\n')).toMatch(/pnpm install --frozen-lockfile --prod/);

    const runtime = stages.get('runtime')!;
    expect(runtime.from).toMatch(/^node:\$\{NODE_VERSION\}/);
    const text = runtime.lines.join('\n');
    // Only production dependencies and the compiled tree reach the image: no sources, no TypeScript, no tsx.
    const copies = runtime.lines.filter((l) => l.startsWith('COPY'));
    for (const c of copies) expect(c, c).toMatch(/^COPY --from=(prod-deps|build|portal) /);
    expect(copies.some((c) => /--from=prod-deps \/app\/node_modules /.test(c))).toBe(true);
    expect(copies.some((c) => /--from=build \/app\/dist /.test(c))).toBe(true);
    expect(text).not.toMatch(/tsx|\.ts\b/);
    const user = /^USER\s+(\S+)/m.exec(text)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(0|root)(:|$)/);
    expect(user).toMatch(/^\d+:\d+$/); // numeric, so Kubernetes' runAsNonRoot can verify it
    expect(text).toMatch(/^HEALTHCHECK .*CMD .*\/healthz/m);
    expect(text).toMatch(/^ARG SERVICE$/m);
    const envLine = /^ENV (.*)$/m.exec(text)?.[1] ?? '';
    for (const [k, v] of Object.entries(RUNTIME_ENV)) expect(envLine.split(/\s+/)).toContain(`${k}=${v}`);
    const cmd = /^CMD (.*)$/m.exec(text)?.[1] ?? '';
    const svc = '$' + '{SERVICE}'; // the shell's variable, spelled out
    expect(cmd).toContain(`exec node $(cat dist/services/${svc}/node-flags) dist/services/${svc}/src/main.js`);
    // What the runtime stage reads from the build exists after a build, for every service.
    for (const s of built.services) {
      for (const rel of [`services/${s}/node-flags`, `services/${s}/src/main.js`, `services/${s}/package.json`])
        expect(existsSync(join(outDir, rel)), rel).toBe(true);
    }
    // The portal stage builds the portal with its own package's script, and the runtime stage puts the output
    // where the compiled gateway's PORTAL_DIST default looks for it (WORKDIR /app, dist/ at /app/dist).
    expect(stages.get('portal')!.from).toBe('build');
    const portalRun = stages.get('portal')!.lines.find((l) => l.startsWith('RUN')) ?? '';
    const filtered = /pnpm --filter (\S+) run (\S+)/.exec(portalRun);
    expect(filtered, portalRun).not.toBeNull();
    const portalPkg = JSON.parse(readFileSync(join(REPO_ROOT, 'services/portal/package.json'), 'utf8')) as {
      name: string;
      scripts: Record<string, string>;
    };
    expect(filtered?.[1]).toBe(portalPkg.name);
    expect(portalPkg.scripts[filtered?.[2] ?? '']).toMatch(/vite build/);
    expect(readFileSync(join(REPO_ROOT, 'services/portal/vite.config.ts'), 'utf8')).toMatch(/outDir: 'dist'/);
    const portalCopy = copies.find((c) => c.startsWith('COPY --from=portal ')) ?? '';
    const [, from, to] = /^COPY --from=portal (\S+) (\S+)$/.exec(portalCopy) ?? [];
    expect(from).toBe('/app/services/portal/dist');
    const workdir = /^WORKDIR (\S+)$/m.exec(text)?.[1] ?? '';
    const compiledPortal = readFileSync(join(outDir, 'services/gateway/src/portal/portal.module.js'), 'utf8');
    const candidates = [...compiledPortal.matchAll(/'((?:\.\.\/)+[^']*portal\/dist)'/g)].map((m) => m[1] as string);
    const imageModuleDir = posix.join(workdir, 'dist/services/gateway/src/portal');
    expect(
      candidates.map((c) => posix.resolve(imageModuleDir, c)),
      'where the compiled gateway looks for the portal, inside the image',
    ).toContain(posix.resolve(workdir, to ?? ''));
    // Every script a build stage runs with node exists in the checkout.
    for (const [name, st] of stages)
      for (const l of st.lines) {
        const script = /^RUN (?:--\S+ )*node (\S+\.ts)\b/.exec(l)?.[1];
        if (script) expect(existsSync(join(REPO_ROOT, script)), `${name}: ${l}`).toBe(true);
      }
    // The frozen install in the build stage needs every workspace manifest in the build context.
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toContain('!tests/package.json');
    expect(ignored).toContain('**/dist');
  });
});
