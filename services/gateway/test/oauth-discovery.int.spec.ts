import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { routes, SCOPE_PATTERN } from '@pep/contracts';
import { createLogger } from '@pep/runtime';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_ALG } from '../src/oauth/oauth-store.ts';
import { createAuthorizationServer, PROTOCOL_SCOPES } from '../src/oauth/provider.ts';

// The authorization server's RFC 8414 / OpenID discovery documents, served by the real oidc-provider on
// loopback (discovery reads no client, token or database state).
let server: Server;
let base = '';

beforeAll(async () => {
  const { privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'k1', alg: SIGNING_ALG, use: 'sig' };
  server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider = createAuthorizationServer({
    issuer: base,
    audience: `${base}/v1`,
    db: {} as never,
    identity: {} as never,
    revocations: {} as never,
    signingKeys: [jwk],
    cookieSecret: 'discovery-test-cookie-secret',
    logger: createLogger('gateway-test', 'silent'),
  });
  server.on('request', provider.callback());
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe('OAuth discovery', () => {
  it('scopes_supported lists every scope the platform grants', async () => {
    const res = await fetch(`${base}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { issuer: string; scopes_supported: string[] };
    expect(doc.issuer).toBe(base);
    const listed = doc.scopes_supported;
    expect(listed).toEqual(expect.arrayContaining([...PROTOCOL_SCOPES, 'admin', 'read:*', 'write:*', 'manage:*']));
    // Every scope a route requires, in each of its verbs.
    for (const r of routes) {
      const resource = r.scope.split(':')[1];
      if (!resource) continue;
      for (const verb of ['read', 'write', 'manage']) expect(listed, `${verb}:${resource}`).toContain(`${verb}:${resource}`);
    }
    // Nothing a credential could not actually hold.
    expect(listed.filter((s) => !PROTOCOL_SCOPES.includes(s) && !SCOPE_PATTERN.test(s))).toEqual([]);
    expect(new Set(listed).size).toBe(listed.length);
  });
});
