import type { OAuthClient, Partner } from '@pep/contracts';
import { createDb } from '@pep/db';
import type { GatewayDB } from '../src/db/schema.ts';
import { aggregateSubject, appendToAggregate } from '@pep/events';
import { newId } from '@pep/runtime';
import {
  createTestBus,
  dbUrl,
  freePort,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { ensureSigningKeys } from '../src/oauth/oauth-store.ts';
import { apiClient, startGateway } from './support/gateway.ts';

const names = testNames('oauth');
const insecure = { [oauth.allowInsecureRequests]: true } as const;
let bus: Awaited<ReturnType<typeof createTestBus>>;
let registry: ServiceProcess;
let gw: Awaited<ReturnType<typeof startGateway>>;
let as: oauth.AuthorizationServer;
let redirectUri: string;

const { call: api, admin, activePartner } = apiClient(() => gw);

/** An application of `partnerId`, as the applications area records it (its own route may evolve separately). */
async function application(partnerId: string): Promise<string> {
  const id = newId('app');
  await appendToAggregate(bus.bus, aggregateSubject(names.SUBJECT_PREFIX, 'application', id), 0, [
    {
      specversion: '1.0',
      id: newId('evt'),
      source: 'urn:test',
      type: 'application.created',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      schemaversion: 1,
      partnerid: partnerId,
      data: { application_id: id, partner_id: partnerId, name: 'Helper', status: 'draft' },
    },
  ]);
  return id;
}

/** Cookie jar for the browser part of the authorization code flow (plain HTTP, no browser). */
class Browser {
  private cookies = new Map<string, string>();
  private keep(res: Response) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = (pair as string).indexOf('=');
      this.cookies.set((pair as string).slice(0, i), (pair as string).slice(i + 1));
    }
  }
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    this.keep(res);
    return res;
  }
  /** Follows redirects inside the gateway; stops at the first one that leaves it (the client's redirect URI). */
  async follow(url: string, init: RequestInit = {}): Promise<{ res: Response; url: string }> {
    let res = await this.request(url, init);
    let current = url;
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location') as string, current).toString();
      if (!next.startsWith(gw.url)) return { res, url: next };
      current = next;
      res = await this.request(next);
    }
    return { res, url: current };
  }
}

/** Runs authorize → sign-in/consent → callback; returns the callback URL the client receives. */
async function authorize(
  client: oauth.Client,
  opts: { scope: string; member: Member; verifier?: string | null; redirect?: string; decision?: 'approve' | 'deny' },
): Promise<{ callback: URL; state: string; verifier: string }> {
  const verifier = opts.verifier ?? oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint as string);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', opts.redirect ?? redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', opts.scope);
  url.searchParams.set('state', state);
  if (opts.verifier !== null) {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  const browser = new Browser();
  const first = await browser.follow(url.toString());
  if (!first.url.startsWith(`${gw.url}/oauth/interaction/`)) return { callback: new URL(first.url), state, verifier };
  expect(first.res.status).toBe(200);
  // Not signed in yet: the page signs the portal user in (no API key), then shows the consent form.
  const signInHtml = await first.res.text();
  expect(signInHtml).toContain(client.client_id);
  expect(signInHtml).toContain('Published by <strong>App Maker</strong>');
  const form = { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url };
  const signedIn = await browser.follow(first.url, {
    method: 'POST',
    headers: form,
    body: new URLSearchParams({ decision: 'sign-in', email: opts.member.email, password: opts.member.password }).toString(),
  });
  expect(signedIn.res.status).toBe(200);
  const html = await signedIn.res.text();
  expect(html).toContain('wants access to your partner account');
  expect(html).toContain(`Signed in as <strong>${opts.member.email}</strong>`);
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const done = await browser.follow(signedIn.url, {
    method: 'POST',
    headers: form,
    body: new URLSearchParams({ csrf_token: csrf, decision: opts.decision ?? 'approve' }).toString(),
  });
  return { callback: new URL(done.url), state, verifier };
}

let appOwner: Partner;
let resourceOwner: Partner;
let resourceOwnerKey: string;
let smtp: TestSmtpServer;
interface Member {
  email: string;
  password: string;
}
let resourceOwnerUser: Member;
let confidential: OAuthClient & { client_secret: string };
let publicClient: OAuthClient;

beforeAll(async () => {
  bus = await createTestBus(names, ['gateway', 'partner-registry']);
  smtp = await startTestSmtpServer();
  registry = spawnService('partner-registry', serviceEnv(names, { HEALTH_PORT: '0', SMTP_URL: smtp.url }));
  const port = await freePort();
  redirectUri = `http://127.0.0.1:${port}/callback`;
  gw = await startGateway(names, { RATE_LIMIT_ENABLED: 'false' });
  appOwner = await activePartner('App Maker');
  resourceOwner = await activePartner('Data Owner');
  resourceOwnerKey = (
    await admin('POST', `/v1/partners/${resourceOwner.id}/api-keys`, { name: 'owner', scopes: ['read:*', 'write:partners'] })
  ).body.key;
  // The resource owner's portal user: invited by email, password set through the emailed link.
  resourceOwnerUser = { email: 'owner@data-owner.test', password: 'data owner password' };
  expect((await admin('POST', `/v1/partners/${resourceOwner.id}/users`, { email: resourceOwnerUser.email, role: 'owner' })).status).toBe(
    201,
  );
  const mail = await smtp.waitFor((m) => m.to.includes(resourceOwnerUser.email));
  const accepted = await fetch(`${gw.url}/v1/auth/invitations/accept`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({
      token: decodeURIComponent(/#token=([^\s"<]+)/.exec(mail.text)?.[1] ?? ''),
      password: resourceOwnerUser.password,
    }),
  });
  expect(accepted.status).toBe(200);
  const appId = await application(appOwner.id);
  const c1 = await admin('POST', `/v1/applications/${appId}/oauth-clients`, {
    type: 'confidential',
    redirect_uris: [redirectUri],
    scopes: ['read:*', 'write:partners'],
  });
  expect(c1.status).toBe(201);
  confidential = c1.body;
  const c2 = await admin('POST', `/v1/applications/${appId}/oauth-clients`, {
    type: 'public',
    redirect_uris: [redirectUri],
    scopes: ['read:partners'],
  });
  expect(c2.status).toBe(201);
  publicClient = c2.body;
  const issuer = new URL(gw.url);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  // The gateway sees the clients (and the owner's key) within moments of their creation.
  await waitUntil(async () => (await api('GET', `/v1/partners/${resourceOwner.id}`, resourceOwnerKey)).status === 200);
});
afterAll(async () => {
  await gw?.proc.stop();
  await registry?.stop();
  await bus?.cleanup();
  await smtp?.close();
});

describe('OAuth 2.0 authorization server (driven by oauth4webapi from discovery)', () => {
  it('publishes RFC 8414 metadata with PKCE S256, the grants, introspection, revocation and JWKS', async () => {
    expect(as.issuer).toBe(new URL(gw.url).href.replace(/\/$/, ''));
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'client_credentials', 'refresh_token']));
    expect(as.introspection_endpoint).toBe(`${gw.url}/oauth/introspect`);
    expect(as.revocation_endpoint).toBe(`${gw.url}/oauth/revoke`);
    const jwks = (await (await fetch(as.jwks_uri as string)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0]?.d).toBeUndefined();
  });

  it('client credentials: a 1 h JWT access token, no refresh token, no-store; it authenticates API calls with its scopes', async () => {
    const client: oauth.Client = { client_id: confidential.client_id };
    const res = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic(confidential.client_secret),
      { scope: 'read:partners', resource: `${gw.url}/v1` },
      insecure,
    );
    expect(res.headers.get('cache-control')).toBe('no-store');
    const tokens = await oauth.processClientCredentialsResponse(as, client, res);
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.scope).toBe('read:partners');
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(`${gw.url}/v1/partners`, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
      `${gw.url}/v1`,
      insecure,
    );
    expect(claims).toMatchObject({ client_id: confidential.client_id, partner_id: appOwner.id, scope: 'read:partners' });
    expect((await api('GET', `/v1/partners/${appOwner.id}`, tokens.access_token)).status).toBe(200);
    expect((await api('GET', `/v1/partners/${resourceOwner.id}`, tokens.access_token)).status).toBe(404);
    expect((await api('PATCH', `/v1/partners/${appOwner.id}`, tokens.access_token, { name: 'x' })).status).toBe(403);
  });

  it('refuses a wrong client secret with 401 invalid_client and WWW-Authenticate, and a scope beyond the client', async () => {
    const res = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: confidential.client_id },
      oauth.ClientSecretBasic(`${confidential.client_secret}x`),
      { scope: 'read:partners' },
      insecure,
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    const beyond = await oauth.clientCredentialsGrantRequest(
      as,
      { client_id: confidential.client_id },
      oauth.ClientSecretBasic(confidential.client_secret),
      { scope: 'manage:api_keys' },
      insecure,
    );
    expect(beyond.status).toBe(400);
    expect(await beyond.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('authorization code + PKCE (public client): consent, single-use code, the token acts for the resource owner', async () => {
    const client: oauth.Client = { client_id: publicClient.client_id };
    const { callback, state, verifier } = await authorize(client, { scope: 'read:partners', member: resourceOwnerUser });
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const res = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, insecure);
    const tokens = await oauth.processAuthorizationCodeResponse(as, client, res);
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope).toBe('read:partners');
    expect((await api('GET', `/v1/partners/${resourceOwner.id}`, tokens.access_token)).status).toBe(200);
    expect((await api('GET', `/v1/partners/${appOwner.id}`, tokens.access_token)).status).toBe(404);
    // The code is single-use: a second exchange fails and revokes what the first one issued.
    const again = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, insecure);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: 'invalid_grant' });
    await waitUntil(async () => (await api('GET', `/v1/partners/${resourceOwner.id}`, tokens.access_token)).status === 401, {
      timeoutMs: 2000,
    });
  });

  it('the consent page refuses a form post without the session CSRF token or from another origin, and a wrong password', async () => {
    const url = new URL(as.authorization_endpoint as string);
    url.search = new URLSearchParams({
      client_id: publicClient.client_id,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'read:partners',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
    }).toString();
    const browser = new Browser();
    const first = await browser.follow(url.toString());
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: gw.url };
    const wrong = await browser.request(first.url, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ decision: 'sign-in', email: resourceOwnerUser.email, password: 'not the password' }).toString(),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('The email or password is not correct.');
    const signedIn = await browser.follow(first.url, {
      method: 'POST',
      headers: form,
      body: new URLSearchParams({ decision: 'sign-in', email: resourceOwnerUser.email, password: resourceOwnerUser.password }).toString(),
    });
    const html = await signedIn.res.text();
    expect(html).toContain('See your partner profile, contacts and agreements');
    expect(signedIn.res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const noToken = await browser.request(signedIn.url, { method: 'POST', headers: form, body: 'decision=approve' });
    expect(noToken.status).toBe(403);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const crossSite = await browser.request(signedIn.url, {
      method: 'POST',
      headers: { ...form, origin: 'https://evil.example' },
      body: new URLSearchParams({ csrf_token: csrf, decision: 'approve' }).toString(),
    });
    expect(crossSite.status).toBe(403);
  });

  it('requires PKCE, matches redirect URIs exactly, and reports a denial to the client', async () => {
    const client: oauth.Client = { client_id: publicClient.client_id };
    const noPkce = await authorize(client, { scope: 'read:partners', member: resourceOwnerUser, verifier: null });
    expect(noPkce.callback.searchParams.get('error')).toBe('invalid_request');
    const browser = new Browser();
    const bad = new URL(as.authorization_endpoint as string);
    bad.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: `${redirectUri}/other`,
      response_type: 'code',
      scope: 'read:partners',
      code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256',
    }).toString();
    const res = await browser.request(bad.toString());
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const denied = await authorize(client, { scope: 'read:partners', member: resourceOwnerUser, decision: 'deny' });
    expect(denied.callback.searchParams.get('error')).toBe('access_denied');
  });

  it('rotates refresh tokens and detects reuse: the reused token revokes the whole grant', async () => {
    const client: oauth.Client = { client_id: confidential.client_id };
    const auth = oauth.ClientSecretBasic(confidential.client_secret);
    const { callback, state, verifier } = await authorize(client, { scope: 'read:partners write:partners', member: resourceOwnerUser });
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const first = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, insecure),
    );
    expect(first.scope?.split(' ').sort()).toEqual(['read:partners', 'write:partners']);
    const second = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, auth, first.refresh_token as string, insecure),
    );
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await api('GET', `/v1/partners/${resourceOwner.id}`, second.access_token)).status).toBe(200);
    // Reuse of the rotated-out refresh token.
    const reuse = await oauth.refreshTokenGrantRequest(as, client, auth, first.refresh_token as string, insecure);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: 'invalid_grant' });
    const afterReuse = await oauth.refreshTokenGrantRequest(as, client, auth, second.refresh_token as string, insecure);
    expect(afterReuse.status).toBe(400);
    await waitUntil(async () => (await api('GET', `/v1/partners/${resourceOwner.id}`, second.access_token)).status === 401, {
      timeoutMs: 2000,
    });
  });

  it('introspects (RFC 7662: the caller authenticates, an inactive token is only {active:false}) and revokes (RFC 7009)', async () => {
    const client: oauth.Client = { client_id: confidential.client_id };
    const auth = oauth.ClientSecretBasic(confidential.client_secret);
    const { callback, state, verifier } = await authorize(client, { scope: 'read:partners', member: resourceOwnerUser });
    const params = oauth.validateAuthResponse(as, client, callback, state);
    const tokens = await oauth.processAuthorizationCodeResponse(
      as,
      client,
      await oauth.authorizationCodeGrantRequest(as, client, auth, params, redirectUri, verifier, insecure),
    );
    const introspect = async (token: string) => {
      const res = await oauth.introspectionRequest(as, client, auth, token, insecure);
      expect(res.headers.get('cache-control')).toBe('no-store');
      return oauth.processIntrospectionResponse(as, client, res);
    };
    expect(await introspect(tokens.access_token)).toMatchObject({ active: true, client_id: client.client_id, scope: 'read:partners' });
    expect(await introspect(tokens.refresh_token as string)).toMatchObject({ active: true, client_id: client.client_id });
    expect(await introspect('not-a-token')).toEqual({ active: false });
    const unauthenticated = await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic('wrong'), tokens.access_token, insecure);
    expect(unauthenticated.status).toBe(401);
    // Revoking the refresh token revokes its access tokens.
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, tokens.refresh_token as string, insecure));
    expect(await introspect(tokens.refresh_token as string)).toEqual({ active: false });
    await waitUntil(async () => (await api('GET', `/v1/partners/${resourceOwner.id}`, tokens.access_token)).status === 401, {
      timeoutMs: 2000,
    });
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
  });

  it('rotates signing keys: the new key signs, tokens signed by the previous one keep working', async () => {
    const appId = await application(appOwner.id);
    const created = await admin('POST', `/v1/applications/${appId}/oauth-clients`, { type: 'confidential', scopes: ['read:partners'] });
    const client: oauth.Client = { client_id: created.body.client_id };
    const auth = oauth.ClientSecretBasic(created.body.client_secret);
    const token = async () =>
      (
        await oauth.processClientCredentialsResponse(
          as,
          client,
          await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'read:partners' }, insecure),
        )
      ).access_token;
    const kid = (t: string) => JSON.parse(Buffer.from(t.split('.')[0] as string, 'base64url').toString()).kid as string;
    const before = await token();
    const db = createDb<GatewayDB>(dbUrl(names, 'gateway'));
    try {
      await ensureSigningKeys(db, { rotateAfterDays: 30, keep: 3, force: true });
    } finally {
      await db.destroy();
    }
    // Same port, so the issuer and the client's metadata stay the same.
    await gw.proc.stop();
    const proc = spawnService(
      'gateway',
      serviceEnv(names, {
        GATEWAY_PORT: new URL(gw.url).port,
        PLATFORM_ADMIN_API_KEY: gw.adminKey,
        STREAM_MAX_AGE_HOURS: '2',
        RATE_LIMIT_ENABLED: 'false',
      }),
    );
    await waitReady(`${gw.url}/readyz`, proc);
    gw = { ...gw, proc };
    const after = await token();
    expect(kid(after)).not.toBe(kid(before));
    const jwks = (await (await fetch(as.jwks_uri as string)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual([kid(after), kid(before)]);
    expect((await api('GET', `/v1/partners/${appOwner.id}`, before)).status).toBe(200);
    expect((await api('GET', `/v1/partners/${appOwner.id}`, after)).status).toBe(200);
  });

  it('stops tokens of a revoked client', async () => {
    const client: oauth.Client = { client_id: confidential.client_id };
    const tokens = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(confidential.client_secret),
        { scope: 'read:partners' },
        insecure,
      ),
    );
    expect((await api('GET', `/v1/partners/${appOwner.id}`, tokens.access_token)).status).toBe(200);
    expect((await admin('DELETE', `/v1/oauth-clients/${confidential.client_id}`)).status).toBe(200);
    await waitUntil(async () => (await api('GET', `/v1/partners/${appOwner.id}`, tokens.access_token)).status === 401, { timeoutMs: 2000 });
  });
});
