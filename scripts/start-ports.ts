/**
 * Ports of `npm start`, so a second checkout on the same machine starts beside the first instead of colliding.
 * Explicit `GATEWAY_PORT` / `HEALTH_PORT_BASE` are used as given. Otherwise the default block (gateway 8080,
 * services 9101…) is used when it is free; when it is taken (another checkout runs), a block of this checkout's own
 * is used: derived from the checkout's path (so it stays the same across restarts), the next free one if taken.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

export interface PortBlock {
  gateway: number;
  healthBase: number;
  /** Why this block, in words (printed at start). */
  why: string;
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

async function blockFree(gateway: number, healthBase: number, services: number, host: string): Promise<boolean> {
  if (!(await portFree(gateway, host))) return false;
  for (let i = 1; i <= services; i++) if (!(await portFree(healthBase + i, '127.0.0.1'))) return false;
  return true;
}

/** Block k ≥ 1: gateway 8080 + 100·k, services 9100 + 100·k + 1…; k from the checkout path, 1…40. */
export function checkoutBlock(root: string): number {
  return (createHash('sha256').update(root).digest().readUInt32BE(0) % 40) + 1;
}

export async function choosePorts(opts: {
  root: string;
  services: number;
  host: string;
  env: NodeJS.ProcessEnv;
  defaults: { gateway: number; healthBase: number };
}): Promise<PortBlock> {
  const { env, defaults } = opts;
  if (env.GATEWAY_PORT || env.HEALTH_PORT_BASE) {
    return {
      gateway: Number(env.GATEWAY_PORT ?? defaults.gateway),
      healthBase: Number(env.HEALTH_PORT_BASE ?? defaults.healthBase),
      why: 'as configured (GATEWAY_PORT / HEALTH_PORT_BASE)',
    };
  }
  if (await blockFree(defaults.gateway, defaults.healthBase, opts.services, opts.host)) return { ...defaults, why: 'the default block' };
  const first = checkoutBlock(opts.root);
  for (let n = 0; n < 40; n++) {
    const k = ((first - 1 + n) % 40) + 1;
    const gateway = defaults.gateway + 100 * k;
    const healthBase = defaults.healthBase + 100 * k;
    if (await blockFree(gateway, healthBase, opts.services, opts.host))
      return { gateway, healthBase, why: `port ${defaults.gateway} is in use (another checkout?): this checkout's block ${k}` };
  }
  throw new Error(`no free port block: ${defaults.gateway} and 40 blocks above it are in use; set GATEWAY_PORT and HEALTH_PORT_BASE`);
}
