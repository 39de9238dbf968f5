import type { Principal } from '@pep/contracts';
import { type AccessTokenVerifier, looksLikeJwt } from '../oauth/access-tokens.ts';
import type { AuthStrategy } from './auth-strategy.ts';

/**
 * OAuth 2.0 access tokens (JWTs issued by the gateway's own authorization server), verified locally with
 * `jose`: no introspection round trip per request. The principal carries the token's scopes; its partner is
 * the resource owner (authorization code) or the client's owner (client credentials).
 */
export class JwtStrategy implements AuthStrategy {
  readonly name = 'oauth-jwt';
  readonly order = 20;

  constructor(private readonly verifier: AccessTokenVerifier) {}

  async authenticate(credential: string): Promise<Principal | null> {
    if (!looksLikeJwt(credential)) return null;
    return (await this.verifier.verify(credential)).principal;
  }
}
