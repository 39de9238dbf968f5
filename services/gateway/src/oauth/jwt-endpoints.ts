import { secretMatches } from '@pep/contracts';
import type { IdentityStore } from '../identity/identity-projection.ts';
import type { ClientEntry } from '../identity/identity-state.ts';
import { type AccessTokenVerifier, InvalidAccessTokenError } from './access-tokens.ts';
import type { Revocations } from './revocations.ts';

export interface EndpointAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache', 'content-type': 'application/json; charset=utf-8' };

/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of JWT access tokens, which oidc-provider leaves to the
 * resource server: the gateway verifies them the same way it does for API calls. The caller authenticates
 * as an OAuth client (client_secret_basic, or `client_id` alone for a public client); an inactive, foreign
 * or invalid token introspects as `{"active": false}` and revokes as a no-op 200.
 */
export function createJwtEndpoints(opts: { identity: IdentityStore; verifier: AccessTokenVerifier; revocations: Revocations }) {
  const authenticate = (authorization: string | undefined, form: URLSearchParams): ClientEntry | undefined => {
    let id: string | null = null;
    let secret: string | null = null;
    if (authorization?.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString();
      const i = decoded.indexOf(':');
      if (i < 0) return undefined;
      id = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
      secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '));
    } else {
      id = form.get('client_id');
      secret = form.get('client_secret');
    }
    const client = id ? opts.identity.state.usableClient(id) : undefined;
    if (!client) return undefined;
    if (client.type === 'public') return secret ? undefined : client;
    return secret && client.secret_hash && secretMatches(secret, client.secret_hash) ? client : undefined;
  };

  const invalidClient = (): EndpointAnswer => ({
    status: 401,
    headers: { ...NO_STORE, 'www-authenticate': 'Basic realm="oauth", error="invalid_client"' },
    body: JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }),
  });

  /** Whether `caller` may see or revoke a token issued to `tokenClientId`. */
  const mayHandle = (caller: ClientEntry, tokenClientId: string) => {
    if (caller.client_id === tokenClientId) return true;
    if (caller.type === 'public') return false;
    return opts.identity.state.clients.get(tokenClientId)?.partner_id === caller.partner_id;
  };

  return {
    async introspect(authorization: string | undefined, form: URLSearchParams): Promise<EndpointAnswer> {
      const caller = authenticate(authorization, form);
      if (!caller) return invalidClient();
      let body: Record<string, unknown> = { active: false };
      try {
        const { claims } = await opts.verifier.verify(form.get('token') ?? '');
        if (mayHandle(caller, claims.client_id)) {
          body = {
            active: true,
            token_type: 'Bearer',
            scope: claims.scope ?? '',
            client_id: claims.client_id,
            sub: claims.sub,
            aud: claims.aud,
            iss: claims.iss,
            exp: claims.exp,
            iat: claims.iat,
            jti: claims.jti,
            partner_id: claims.partner_id,
          };
        }
      } catch (err) {
        // Invalid, expired, revoked: only `{"active": false}` (RFC 7662 §2.2). Anything else is a failure of ours.
        if (!(err instanceof InvalidAccessTokenError)) throw err;
      }
      return { status: 200, headers: NO_STORE, body: JSON.stringify(body) };
    },

    async revoke(authorization: string | undefined, form: URLSearchParams): Promise<EndpointAnswer> {
      const caller = authenticate(authorization, form);
      if (!caller) return invalidClient();
      try {
        const { claims } = await opts.verifier.verify(form.get('token') ?? '');
        if (mayHandle(caller, claims.client_id) && claims.jti && claims.exp) {
          await opts.revocations.revoke('jti', claims.jti, claims.exp * 1000);
        }
      } catch (err) {
        // RFC 7009 §2.2: an invalid token is not an error (a failure to store the revocation is).
        if (!(err instanceof InvalidAccessTokenError)) throw err;
      }
      return { status: 200, headers: NO_STORE, body: '' };
    },
  };
}
