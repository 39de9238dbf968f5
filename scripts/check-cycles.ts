// Fails on any circular import (type-only imports included) in services/, libs/ and contracts/.
// madge follows relative imports; the workspace packages (@pep/*) are mapped to their source entry points from
// their own package.json `exports`, so a loop that passes through a lib's public surface is found too.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import madge from 'madge';

const root = join(import.meta.dirname, '..');
const roots = ['services', 'libs', 'contracts'];

function workspacePaths(): Record<string, string[]> {
  const dirs = [...readdirSync(join(root, 'libs')).map((d) => join('libs', d)), 'contracts'];
  const paths: Record<string, string[]> = {};
  for (const dir of dirs) {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as { name: string; exports?: Record<string, string> };
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      paths[sub === '.' ? pkg.name : `${pkg.name}/${sub.replace(/^\.\//, '')}`] = [join(dir, target)];
    }
  }
  return paths;
}

const result = await madge(
  roots.map((r) => join(root, r)),
  {
    baseDir: root,
    fileExtensions: ['ts'],
    excludeRegExp: [/node_modules/, /\.d\.ts$/],
    tsConfig: { compilerOptions: { baseUrl: root, module: 'NodeNext', moduleResolution: 'NodeNext', paths: workspacePaths() } },
    detectiveOptions: { ts: { skipTypeImports: false, mixedImports: true } },
  },
);
// A workspace import madge could not resolve would hide the loops through it: that is a failure of the check itself.
const unresolved = result.warnings().skipped.filter((s) => s.startsWith('@pep/'));
if (unresolved.length) {
  console.error(`check:cycles could not resolve ${unresolved.join(', ')}: add the package's exports or fix the mapping`);
  process.exit(1);
}
const cycles = result.circular();
const files = Object.keys(result.obj()).length;
if (cycles.length) {
  console.error(`${cycles.length} import cycle(s) in ${roots.join(', ')} (type-only imports count too):`);
  for (const c of cycles) console.error(`  ${[...c, c[0] ?? ''].map((f) => relative(root, join(root, f))).join(' → ')}`);
  console.error('Break each loop: move what both sides need into a leaf module that imports neither (a table type, a shared type).');
  process.exit(1);
}
console.log(`no import cycles in ${files} files (${roots.join(', ')})`);
