import { routes } from '@pep/contracts';
import { describe, expect, it } from 'vitest';
import { PUBLISH_EVENTS_ROUTE } from '../src/events/events.module.ts';
import { RouteRegistry, segmentsMatch } from '../src/http/route-registry.ts';

const GATEWAY_OWN = [
  `${PUBLISH_EVENTS_ROUTE.method} ${PUBLISH_EVENTS_ROUTE.path}`,
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /openapi.json',
  'GET /docs',
];

describe('the route table the gateway serves', () => {
  it('has a unique method + path per route, none clashing with the gateway’s own routes', () => {
    const keys = routes.map((r) => `${r.method} ${r.path.replace(/:[A-Za-z0-9_]+/g, ':')}`);
    expect(routes.length).toBeGreaterThan(0);
    expect(new Set(keys).size).toBe(keys.length);
    for (const own of GATEWAY_OWN) expect(keys).not.toContain(own);
    // Registering them all (as the gateway does at start-up) must not throw either.
    const registry = new RouteRegistry();
    for (const r of routes) registry.add(r.method, r.path);
  });

  it('names an owning service and pattern for every route, and declares every path parameter', () => {
    for (const r of routes) {
      expect(r.service, r.operationId).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(r.pattern, r.operationId).toMatch(/^[a-z][a-z0-9_.-]*$/);
      expect(r.path, r.operationId).toMatch(/^\/v1\//);
      const names = [...r.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]);
      for (const n of names) expect(Object.keys(r.params?.shape ?? {}), `${r.operationId} :${n}`).toContain(n);
      if (r.public) expect(r.adminOnly, r.operationId).toBeFalsy();
    }
  });

  it('tells 405 from 404 by matching concrete paths against patterns', () => {
    const registry = new RouteRegistry();
    registry.add('GET', '/v1/partners/:id');
    registry.add('PATCH', '/v1/partners/:id');
    registry.add('POST', '/v1/partners');
    expect(registry.allowedMethods('/v1/partners/prt_1')).toEqual(['GET', 'HEAD', 'PATCH']);
    expect(registry.allowedMethods('/v1/partners')).toEqual(['POST']);
    expect(registry.allowedMethods('/v1/partners/prt_1/x')).toEqual([]);
    expect(registry.allowedMethods('/v1/partners/')).toEqual([]);
    expect(segmentsMatch(['', 'a', '*'], ['', 'a', 'b', 'c'])).toBe(true);
  });
});
