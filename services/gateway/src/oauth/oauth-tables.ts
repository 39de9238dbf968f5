import type { JWK } from 'jose';
import type { Generated, JSONColumnType } from 'kysely';
import type { AdapterPayload } from 'oidc-provider';

/** Tables of the gateway's authorization server (oidc-provider's artifacts, signing keys, revocations). */
export interface OAuthTables {
  oauth_payloads: {
    model: string;
    id: string;
    payload: JSONColumnType<AdapterPayload>;
    grant_id: string | null;
    uid: string | null;
    user_code: string | null;
    expires_at: Date | null;
    consumed_at: Date | null;
  };
  oauth_signing_keys: { kid: string; private_jwk: JSONColumnType<JWK>; created_at: Generated<Date> };
  oauth_secrets: { name: string; value: string };
  oauth_revocations: { kind: 'grant' | 'jti'; id: string; expires_at: Date };
}
