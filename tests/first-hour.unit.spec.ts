import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PartnerTierSchema, PartnerTypeSchema } from '@pep/contracts';
import { REPO_ROOT } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// What a new user types from the README and docs on a fresh clone must exist and install its own toolchain.
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'reference' ? [] : markdownFiles(p);
    return name.endsWith('.md') ? [p] : [];
  });
}
const docs = [join(REPO_ROOT, 'README.md'), ...markdownFiles(join(REPO_ROOT, 'docs'))].map((p) => ({
  file: relative(REPO_ROOT, p),
  text: readFileSync(p, 'utf8'),
}));

describe('the commands the README and docs show', () => {
  const used = docs.flatMap(({ file, text }) =>
    [...text.matchAll(/npm run (?:-s )?([a-z][\w:-]*)/g)].map((m) => ({ file, script: m[1] as string })),
  );

  it('name npm scripts that exist', () => {
    expect(used.length).toBeGreaterThan(10);
    const missing = used.filter((u) => !(u.script in pkg.scripts));
    expect(missing).toEqual([]);
  });

  it('run through scripts/platform.sh, which installs Node, pnpm and the dependencies first', () => {
    const bare = [...new Set(used.map((u) => u.script))].filter((s) => !pkg.scripts[s]?.startsWith('bash scripts/platform.sh '));
    expect(bare).toEqual([]);
  });

  it('never tell a user to type pnpm <script> as the way to run it (pnpm is not on a fresh PATH)', () => {
    const offenders = docs.flatMap(({ file, text }) =>
      [...text.matchAll(/`pnpm ([a-z][\w:-]*)[^`]*`/g)]
        .filter((m) => (m[1] ?? '') in pkg.scripts)
        // The README's note on putting .tools/pnpm on PATH names the pnpm form once, as an alternative.
        .filter((m) => !text.slice(Math.max(0, (m.index ?? 0) - 200), m.index).includes('.tools/pnpm/node_modules/.bin'))
        .map((m) => `${file}: ${m[0]}`),
    );
    expect(offenders).toEqual([]);
  });
});

describe('package manager settings', () => {
  it('live in pnpm-workspace.yaml, not in an .npmrc that npm warns about on every run', () => {
    const pnpmOnly = ['auto-install-peers', 'strict-peer-dependencies', 'manage-package-manager-versions'];
    const npmrc = join(REPO_ROOT, '.npmrc');
    if (existsSync(npmrc)) {
      const keys = readFileSync(npmrc, 'utf8')
        .split('\n')
        .map((l) => l.split('=')[0]?.trim());
      expect(keys.filter((k) => pnpmOnly.includes(k ?? ''))).toEqual([]);
    }
    const ws = parse(readFileSync(join(REPO_ROOT, 'pnpm-workspace.yaml'), 'utf8')) as Record<string, unknown>;
    expect(ws).toMatchObject({ managePackageManagerVersions: false, autoInstallPeers: true, strictPeerDependencies: false });
  });
});

describe('docs/identity.md', () => {
  it('lists every partner type and tier the contract accepts', () => {
    const text = readFileSync(join(REPO_ROOT, 'docs/identity.md'), 'utf8');
    for (const v of [...PartnerTypeSchema.options, ...PartnerTierSchema.options]) expect(text).toContain(`\`${v}\``);
  });
});
