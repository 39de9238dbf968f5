import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkoutBlock, choosePorts } from '../scripts/start-ports.ts';

// A second checkout's `npm start` beside the first: the default ports when free, else a block of its own.
const listen = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });

describe('npm start ports', () => {
  const defaults = { gateway: 20_000 + Math.floor(Math.random() * 5000), healthBase: 0 };
  defaults.healthBase = defaults.gateway + 6000;
  const base = { services: 3, host: '127.0.0.1', defaults };

  it('uses the default block when it is free and the explicit ports when they are set', async () => {
    expect(await choosePorts({ ...base, root: '/work/a', env: {} })).toMatchObject({
      gateway: defaults.gateway,
      healthBase: defaults.healthBase,
    });
    expect(await choosePorts({ ...base, root: '/work/a', env: { GATEWAY_PORT: '8181' } })).toMatchObject({ gateway: 8181 });
  });

  it('gives a second checkout its own stable block when the default one is in use', async () => {
    const first = await listen(defaults.gateway);
    const health = await listen(defaults.healthBase + 2);
    try {
      const a = await choosePorts({ ...base, root: '/work/checkout-a', env: {} });
      expect(a.gateway).not.toBe(defaults.gateway);
      expect(a.gateway - defaults.gateway).toBe(a.healthBase - defaults.healthBase);
      expect((a.gateway - defaults.gateway) / 100).toBe(checkoutBlock('/work/checkout-a'));
      expect(a.why).toMatch(/in use/);
      // The same checkout gets the same block again; another path gets its own (unless the hash agrees).
      expect(await choosePorts({ ...base, root: '/work/checkout-a', env: {} })).toEqual(a);
      const aBlock = await listen(a.gateway);
      try {
        const b = await choosePorts({ ...base, root: '/work/checkout-a', env: {} });
        expect(b.gateway).not.toBe(a.gateway);
      } finally {
        aBlock.close();
      }
    } finally {
      first.close();
      health.close();
    }
  });
});
