import type { Principal } from '@pep/contracts';
import { UnauthorizedError } from '@pep/runtime';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Kysely } from 'kysely';
import type { IdentityStore } from '../identity/identity-projection.ts';
import type { GatewayDB } from '../db/schema.ts';
import { loadSigningKeys, publicJwk, SIGNING_ALG } from './oauth-store.ts';
import type { Revocations } from './revocations.ts';

/** Claims of the platform's JWT access tokens (RFC 9068) beyond the registered ones. */
export interface AccessTokenClaims extends JWTPayload {
  client_id: string;
  scope?: string;
  partner_id: string;
  /** The grant the token belongs to (revoking a refresh token revokes its grant). */
  gid?: string;
}

export class InvalidAccessTokenError extends UnauthorizedError {}

/** OIDC scopes that are not API permissions. */
const PROTOCOL_SCOPES = new Set(['openid', 'offline_access']);

/**
 * Verifies access tokens locally: signature against the authorization server's keys (reloaded from the
 * database when a token names a key this replica has not seen: key rotation), issuer, audience, expiry; then
 * that the client, its grant, the token and the partner are all still in good standing.
 */
export function createAccessTokenVerifier(opts: {
  db: Kysely<GatewayDB>;
  issuer: string;
  audience: string;
  identity: IdentityStore;
  revocations: Revocations;
}) {
  const { db } = opts;
  let jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  let kids = new Set<string>();
  let loadedAt = 0;
  const reload = async () => {
    const keys = (await loadSigningKeys(db)).map(publicJwk);
    kids = new Set(keys.map((k) => k.kid as string));
    jwks = createLocalJWKSet({ keys });
    loadedAt = Date.now();
  };

  return {
    reload,
    publicKeys: async () => (await loadSigningKeys(db)).map(publicJwk),
    /** The token's claims when it is valid and in good standing; throws InvalidAccessTokenError otherwise. */
    async verify(token: string): Promise<{ claims: AccessTokenClaims; principal: Principal }> {
      const kid = peekKid(token);
      if (!jwks || (kid && !kids.has(kid) && Date.now() - loadedAt > 1000)) await reload();
      let claims: AccessTokenClaims;
      try {
        const r = await jwtVerify<AccessTokenClaims>(token, jwks as ReturnType<typeof createLocalJWKSet>, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms: [SIGNING_ALG],
          typ: 'at+jwt',
        });
        claims = r.payload;
      } catch (err) {
        throw new InvalidAccessTokenError('the access token is not valid or has expired', { cause: err });
      }
      if (typeof claims.client_id !== 'string' || typeof claims.partner_id !== 'string') {
        throw new InvalidAccessTokenError('the access token is not valid');
      }
      if (opts.revocations.isRevoked('jti', claims.jti) || opts.revocations.isRevoked('grant', claims.gid)) {
        throw new InvalidAccessTokenError('the access token has been revoked');
      }
      if (!opts.identity.state.usableClient(claims.client_id)) throw new InvalidAccessTokenError('the OAuth client is no longer active');
      if (!opts.identity.state.partnerUsable(claims.partner_id)) {
        throw new InvalidAccessTokenError('the access token belongs to a partner that is suspended or terminated');
      }
      const scopes = (claims.scope ?? '').split(' ').filter((s) => s && !PROTOCOL_SCOPES.has(s));
      return { claims, principal: { kind: 'oauth', partner_id: claims.partner_id, scopes, credential_id: claims.client_id } };
    },
  };
}
export type AccessTokenVerifier = ReturnType<typeof createAccessTokenVerifier>;

function peekKid(token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot < 0) return undefined;
  try {
    return (JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString()) as { kid?: string }).kid;
  } catch (err) {
    // A header that is not JSON names no key; jwtVerify then refuses the token with its own reason.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export function looksLikeJwt(credential: string): boolean {
  return credential.startsWith('eyJ') && credential.split('.').length === 3;
}
