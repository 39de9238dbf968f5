// `npm test`: every tier (unit, integration against real NATS/Postgres, end-to-end against real service
// processes) in one vitest run, with a JSON report that .ci/run counts from. Extra args go to vitest.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

mkdirSync('.reports', { recursive: true });
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=.reports/vitest.json', ...process.argv.slice(2)];
const r = spawnSync('pnpm', ['exec', ...args], { stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.CI ? '0' : '1' } });
process.exit(r.status ?? 1);
