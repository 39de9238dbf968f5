import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSafeDispatcher, UnsafeUrlError } from '../src/index.ts';

// Real loopback HTTP server; the dispatcher must refuse it unless the policy allows loopback.
let server: Server;
let port = 0;
let hits = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function causeOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
    return undefined;
  } catch (err) {
    let e: unknown = err;
    while (e && !(e instanceof UnsafeUrlError) && (e as { cause?: unknown }).cause) e = (e as { cause?: unknown }).cause;
    return e;
  }
}

describe('safe dispatcher (send-time SSRF check)', () => {
  it('refuses an IP-literal loopback target without connecting', async () => {
    const before = hits;
    const d = createSafeDispatcher({});
    const err = await causeOf(request(`http://127.0.0.1:${port}/`, { dispatcher: d }));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(hits).toBe(before);
    await d.close();
  });

  it('refuses a host name whose resolution is loopback (checked after DNS, at connect)', async () => {
    const before = hits;
    const d = createSafeDispatcher({});
    const err = await causeOf(request(`http://localhost:${port}/`, { dispatcher: d }));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect((err as UnsafeUrlError).reason).toBe('loopback');
    expect(hits).toBe(before);
    await d.close();
  });

  it('connects when the policy allowlists loopback', async () => {
    const d = createSafeDispatcher({ allow: ['127.0.0.0/8', '::1'] });
    const res = await request(`http://localhost:${port}/`, { dispatcher: d });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('ok');
    const res2 = await request(`http://127.0.0.1:${port}/`, { dispatcher: d });
    expect(res2.statusCode).toBe(200);
    await res2.body.text();
    await d.close();
  });
});
