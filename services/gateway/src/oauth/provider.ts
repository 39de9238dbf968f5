import { routes, scopeAllows, secretMatches } from '@pep/contracts';
import type { Logger } from '@pep/runtime';
import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { GatewayDB } from '../db/schema.ts';
import Provider, { type AdapterPayload, type ClientLike, errors } from 'oidc-provider';
import type { IdentityStore } from '../identity/identity-projection.ts';
import type { ClientEntry } from '../identity/identity-state.ts';
import { pgAdapterClass, SIGNING_ALG } from './oauth-store.ts';
import type { Revocations } from './revocations.ts';

export const ACCESS_TOKEN_TTL_S = 3600;
export const REFRESH_TOKEN_TTL_S = 30 * 86_400;
export const AUTHORIZATION_CODE_TTL_S = 600;
export const PROTOCOL_SCOPES = ['openid', 'offline_access'];

export const OAUTH_ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  jwks: '/oauth/jwks',
  introspection: '/oauth/introspect',
  revocation: '/oauth/revoke',
  end_session: '/oauth/logout',
  userinfo: '/oauth/userinfo',
  pushed_authorization_request: '/oauth/par',
  registration: '/oauth/register',
  code_verification: '/oauth/device',
  device_authorization: '/oauth/device/auth',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
  credential: '/oauth/credential',
} as const;

/** oidc-provider client metadata for a client of the registry (its secret exists here only as a SHA-256). */
export function clientMetadata(c: ClientEntry): AdapterPayload {
  const code = c.redirect_uris.length > 0;
  const confidential = c.type === 'confidential';
  return {
    client_id: c.client_id,
    ...(confidential && c.secret_hash ? { client_secret: c.secret_hash } : {}),
    client_name: c.application_id,
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    grant_types: [...(code ? ['authorization_code', 'refresh_token'] : []), ...(confidential ? ['client_credentials'] : [])],
    response_types: code ? ['code'] : [],
    redirect_uris: c.redirect_uris,
    id_token_signed_response_alg: SIGNING_ALG,
  };
}

let knownScopes: string[] | undefined;
/** Every concrete scope of the API: each resource of the route table with each verb. */
function apiScopes(): string[] {
  if (!knownScopes) {
    const resources = new Set<string>();
    for (const r of routes) {
      const i = r.scope.indexOf(':');
      if (i > 0) resources.add(r.scope.slice(i + 1));
    }
    knownScopes = [...resources].flatMap((res) => ['read', 'write', 'manage'].map((v) => `${v}:${res}`));
  }
  return knownScopes;
}

/**
 * Every scope the platform grants, as discovery's `scopes_supported` lists it: the protocol scopes, `admin`,
 * each verb on every resource (`read:*`) and each verb on each resource of the route table
 * (contracts/identity/scopes.ts). oidc-provider would list only its own `scopes` (the protocol ones): the API
 * scopes belong to the resource server (resource indicators), which discovery does not look at.
 */
export function supportedScopes(): string[] {
  return [...new Set([...PROTOCOL_SCOPES, 'admin', 'read:*', 'write:*', 'manage:*', ...[...apiScopes()].sort()])];
}

/**
 * The API scopes a client may receive: its registered scopes and every narrower one they allow
 * (`read:*` → `read:partners`), plus narrower requested ones.
 */
export function grantableScopes(client: ClientEntry, requested: readonly string[] = []): string[] {
  const narrower = [...apiScopes(), ...requested].filter((s) => !PROTOCOL_SCOPES.includes(s) && scopeAllows(client.scopes, s));
  return [...new Set([...client.scopes, ...narrower])];
}

/**
 * The platform's OAuth 2.0 authorization server: oidc-provider (a certified implementation) configured for
 * authorization code + PKCE S256 (required for every client), client credentials, refresh token rotation with
 * reuse detection, introspection, revocation, RFC 8414 discovery, and JWT access tokens (RFC 9068) the
 * gateway verifies locally. Clients come from the gateway's projection of the registry's events.
 */
export function createAuthorizationServer(opts: {
  issuer: string;
  audience: string;
  db: Kysely<GatewayDB>;
  identity: IdentityStore;
  revocations: Revocations;
  signingKeys: JWK[];
  cookieSecret: string;
  logger: Logger;
}): Provider {
  const { identity, audience } = opts;
  const findClient = (id: string) => {
    const c = identity.state.usableClient(id);
    return c ? clientMetadata(c) : undefined;
  };

  const provider = new Provider(opts.issuer, {
    adapter: pgAdapterClass(opts.db, findClient),
    jwks: { keys: opts.signingKeys },
    cookies: {
      keys: [opts.cookieSecret],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: OAUTH_ROUTES,
    scopes: PROTOCOL_SCOPES,
    claims: { openid: ['sub'] },
    responseTypes: ['code'],
    clientDefaults: { id_token_signed_response_alg: SIGNING_ALG, grant_types: ['authorization_code'], response_types: ['code'] },
    enabledJWA: { idTokenSigningAlgValues: [SIGNING_ALG] },
    pkce: { required: () => true },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_S,
      ClientCredentials: ACCESS_TOKEN_TTL_S,
      AuthorizationCode: AUTHORIZATION_CODE_TTL_S,
      RefreshToken: REFRESH_TOKEN_TTL_S,
      IdToken: ACCESS_TOKEN_TTL_S,
      Grant: REFRESH_TOKEN_TTL_S,
      Interaction: AUTHORIZATION_CODE_TTL_S,
      Session: 3600,
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx: unknown, client: ClientLike) => client.grantTypeAllowed('refresh_token'),
    allowOmittingSingleRegisteredRedirectUri: false,
    clientBasedCORS: () => false,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/oauth/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) =>
      identity.state.partnerUsable(sub) ? { accountId: sub, claims: async () => ({ sub }) } : undefined,
    extraTokenClaims: async (_ctx: unknown, token: { kind: string; accountId?: string; clientId: string; grantId?: string }) => {
      const partnerId = token.kind === 'ClientCredentials' ? identity.state.clients.get(token.clientId)?.partner_id : token.accountId;
      return { partner_id: partnerId, ...(token.grantId ? { gid: token.grantId } : {}) };
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: introspectionAllowed(identity) },
      revocation: { enabled: true },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx: { oidc?: { params?: { scope?: string } } }, resource: string, client: ClientLike) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          const entry = identity.state.usableClient(client.clientId);
          if (!entry) throw new errors.InvalidTarget();
          const requested = (ctx.oidc?.params?.scope ?? '').split(' ').filter(Boolean);
          const grantable = grantableScopes(entry, requested);
          const refused = requested.filter((s) => !PROTOCOL_SCOPES.includes(s) && !grantable.includes(s));
          if (refused.length) throw new errors.InvalidScope('requested scope is not allowed for this client', refused.join(' '));
          return {
            scope: grantable.join(' '),
            audience,
            accessTokenTTL: ACCESS_TOKEN_TTL_S,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: SIGNING_ALG } },
          };
        },
      },
    },
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><meta charset="utf-8"><title>Authorization error</title><h1>Authorization error</h1><pre>${escapeHtml(
        JSON.stringify(out, null, 2),
      )}</pre>`;
    },
  });

  provider.use(async (ctx: DiscoveryContext, next: () => Promise<void>) => {
    await next();
    if (ctx.oidc?.route === 'discovery' && ctx.body && typeof ctx.body === 'object') ctx.body.scopes_supported = supportedScopes();
  });

  // Client secrets exist only as SHA-256 (the registry's events carry nothing else): compare by hash.
  provider.Client.prototype.compareClientSecret = function (this: ClientLike, actual: string) {
    return typeof this.clientSecret === 'string' && typeof actual === 'string' && secretMatches(actual, this.clientSecret);
  };

  // A revoked grant (refresh token revoked, refresh token or code reused) must stop its JWT access tokens too.
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => {
    opts.revocations.revoke('grant', grantId, Date.now() + REFRESH_TOKEN_TTL_S * 1000).catch((err) => {
      opts.logger.error('could not record a revoked grant', { grant_id: grantId, err });
    });
  });
  provider.on('server_error', (_ctx: unknown, err: unknown) => opts.logger.error('authorization server error', { err }));
  return provider;
}

interface DiscoveryContext {
  oidc?: { route?: string };
  body?: Record<string, unknown>;
}

/** Introspection of opaque tokens (refresh tokens): a client sees its own, or those of clients of the same partner. */
function introspectionAllowed(identity: IdentityStore) {
  return async (_ctx: unknown, caller: ClientLike, token: { clientId?: string }) => {
    if (!token.clientId || token.clientId === caller.clientId) return true;
    if (caller.clientAuthMethod === 'none') return false;
    const a = identity.state.clients.get(caller.clientId);
    const b = identity.state.clients.get(token.clientId);
    return !!a && !!b && a.partner_id === b.partner_id;
  };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
