import { createTestBus, testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from './support/gateway.ts';

/**
 * Issue 2, item 8 (4th bullet): 1,000 malformed, oversized, wrongly typed and unauthenticated requests →
 * zero 5xx, the gateway still healthy, nothing published.
 */
const names = testNames('gwrel');
let t: Awaited<ReturnType<typeof createTestBus>>;
let gw: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  t = await createTestBus(names, ['gateway']);
  gw = await startGateway(names);
});
afterAll(async () => {
  await gw?.proc.stop();
  await t?.cleanup();
});

/** A small seeded PRNG (mulberry32) so a failure can be reproduced. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface BadRequest {
  kind: 'malformed' | 'oversized' | 'wrongly-typed' | 'unauthenticated' | 'unknown-route';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function buildRequests(count: number, key: string): BadRequest[] {
  const rand = rng(20_260_101);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const auth = { authorization: `Bearer ${key}` };
  const json = { 'content-type': 'application/json' };
  const validEvent = (i: number) => ({
    specversion: '1.0',
    id: `rel-${i}`,
    source: 'reliability',
    type: 'lead.created',
    data: { lead_id: `l${i}`, email: `l${i}@example.com` },
  });
  const big = (n: number) => JSON.stringify([{ ...validEvent(0), data: { lead_id: 'x', email: 'a@b.co', source: 'x'.repeat(n) } }]);
  const malformedBodies = ['{', '{"id":', '[1,2', 'nul', '{"a":1}}', '\u0000\u0001', '{"id":"x",}', "{'id':'x'}", '[{]', '"unterminated'];
  const wronglyTyped: (() => Pick<BadRequest, 'method' | 'path' | 'headers' | 'body'>)[] = [
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json }, body: '42' }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json }, body: 'null' }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json }, body: '"lead.created"' }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json }, body: '[1, "two", null]' }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json }, body: '[]' }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json }, body: JSON.stringify({ ...validEvent(1), id: 123 }) }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json }, body: JSON.stringify({ ...validEvent(2), data: 'x' }) }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, ...json },
      body: JSON.stringify({ ...validEvent(3), type: 'Lead Created' }),
    }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, ...json },
      body: JSON.stringify({ ...validEvent(4), type: 'partner.created' }),
    }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, ...json },
      body: JSON.stringify({ ...validEvent(5), schemaversion: 'one' }),
    }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, ...json },
      body: JSON.stringify({ ...validEvent(6), specversion: '0.3' }),
    }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, ...json },
      body: JSON.stringify({ ...validEvent(7), partnerid: 'a.b>' }),
    }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, ...json },
      body: JSON.stringify({ ...validEvent(8), time: 'yesterday' }),
    }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, ...json },
      body: JSON.stringify([validEvent(9), { ...validEvent(10), data: { lead_id: 5 } }]),
    }),
    () => ({
      method: 'POST',
      path: '/v1/events',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: JSON.stringify(validEvent(11)),
    }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, 'content-type': 'application/xml' }, body: '<event/>' }),
    () => ({ method: 'POST', path: '/v1/events', headers: { ...auth, ...json, 'idempotency-key': 'has spaces in it' }, body: '{}' }),
    () => ({ method: 'POST', path: '/v1/partners', headers: { ...auth, ...json }, body: JSON.stringify({ name: 7, type: 'x' }) }),
    () => ({ method: 'POST', path: '/v1/partners', headers: { ...auth, ...json }, body: '[]' }),
    () => ({ method: 'PATCH', path: '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1', headers: { ...auth, ...json }, body: '{}' }),
    () => ({ method: 'GET', path: '/v1/partners?limit=-3', headers: auth }),
    () => ({ method: 'GET', path: '/v1/partners?limit=abc&starting_after=', headers: auth }),
    () => ({ method: 'GET', path: `/v1/partners/${'x'.repeat(100)}`, headers: auth }),
    () => ({
      method: 'POST',
      path: '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1/suspend',
      headers: { ...auth, ...json },
      body: JSON.stringify({ reason: '' }),
    }),
  ];
  const out: BadRequest[] = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    if (r < 0.25) {
      const path = pick(['/v1/events', '/v1/partners', '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1']);
      out.push({
        kind: 'malformed',
        method: path === '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1' ? 'PATCH' : 'POST',
        path,
        headers: { ...auth, ...json },
        body: pick(malformedBodies),
      });
    } else if (r < 0.33) {
      const toEvents = rand() < 0.5;
      out.push({
        kind: 'oversized',
        method: 'POST',
        path: toEvents ? '/v1/events' : '/v1/partners',
        headers: { ...auth, ...json },
        body: big(toEvents ? 1_100_000 : 300_000),
      });
    } else if (r < 0.6) {
      out.push({ kind: 'wrongly-typed', ...pick(wronglyTyped)() });
    } else if (r < 0.9) {
      const authorization = pick([
        undefined,
        'Bearer',
        'Bearer ',
        `Bearer ${key}x`,
        'Bearer sk_admin_guess_guess_guess',
        'Basic dXNlcjpwYXNz',
        key,
      ]);
      const path = pick(['/v1/events', '/v1/events', '/v1/partners', '/v1/partners/prt_01jzzzzzzzzzzzzzzzzzzzzzz1']);
      const body =
        path === '/v1/events'
          ? JSON.stringify(rand() < 0.5 ? validEvent(1000 + i) : [validEvent(2000 + i), validEvent(3000 + i)])
          : undefined;
      out.push({
        kind: 'unauthenticated',
        method: body ? 'POST' : 'GET',
        path,
        headers: { ...(authorization === undefined ? {} : { authorization }), ...(body ? json : {}) },
        ...(body ? { body } : {}),
      });
    } else {
      const method = pick(['GET', 'PUT', 'DELETE', 'POST', 'PATCH']);
      const path = pick([
        '/',
        '/v2/events',
        '/v1/events/x',
        '/v1/partners/a/b/c',
        '/admin',
        '/v1/%zz',
        '/../../etc/passwd',
        `/v1/${'y'.repeat(3000)}`,
      ]);
      out.push({ kind: 'unknown-route', method, path, headers: auth });
    }
  }
  return out;
}

describe('gateway under 1,000 bad requests', () => {
  it('answers every one with a 4xx problem, stays healthy and publishes nothing', async () => {
    const requests = buildRequests(1000, gw.adminKey);
    const statuses = new Map<string, number>();
    const fivexx: string[] = [];
    const notProblem: string[] = [];
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const r = requests[next++] as BadRequest;
        try {
          const res = await fetch(gw.url + r.path, {
            method: r.method,
            headers: r.headers,
            ...(r.body === undefined ? {} : { body: r.body }),
          });
          await res.arrayBuffer();
          const k = `${r.kind} ${res.status}`;
          statuses.set(k, (statuses.get(k) ?? 0) + 1);
          if (res.status >= 500) fivexx.push(`${r.method} ${r.path.slice(0, 60)} → ${res.status}`);
          if (res.status < 400) failures.push(`${r.kind}: ${r.method} ${r.path.slice(0, 60)} → ${res.status}`);
          if (!/^application\/problem\+json/.test(res.headers.get('content-type') ?? ''))
            notProblem.push(`${r.method} ${r.path.slice(0, 60)} → ${res.status}`);
        } catch (err) {
          failures.push(`${r.kind}: ${r.method} ${r.path.slice(0, 60)} → ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(fivexx).toEqual([]);
    expect(failures).toEqual([]);
    expect(notProblem).toEqual([]);
    const kinds = new Set([...statuses.keys()].map((k) => k.split(' ')[0]));
    expect(kinds).toEqual(new Set(['malformed', 'oversized', 'wrongly-typed', 'unauthenticated', 'unknown-route']));
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(1000);
    expect(statuses.get('oversized 413')).toBeGreaterThan(0);
    expect(statuses.get('unauthenticated 401')).toBeGreaterThan(0);

    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const info = await t.bus.jsm.streams.info(names.STREAM_NAME);
    expect(info.state.messages).toBe(0);
    console.log('status counts', Object.fromEntries([...statuses.entries()].sort()));
  });
});
