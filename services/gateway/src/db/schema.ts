import type { PlatformTables } from '@pep/db';
import type { Generated } from 'kysely';
import type { IdentityTables } from '../identity/identity-tables.ts';
import type { OAuthTables } from '../oauth/oauth-tables.ts';

/** One stored `Idempotency-Key`: held while its request runs, then the response it produced. */
export interface IdempotencyKeysTable {
  /** Whose key it is: `partner:<id>` for partner credentials, `credential:<id>` for admin credentials. */
  scope: string;
  key: string;
  /** SHA-256 over method, path and body: the same key with another request is a reuse error. */
  request_hash: string;
  method: string;
  path: string;
  state: 'in_flight' | 'done';
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  locked_at: Date;
  created_at: Generated<Date>;
  expires_at: Date;
}

/** Every table of the gateway's database (one interface; feature modules take `Kysely<GatewayDB>`). */
export interface GatewayDB extends PlatformTables, IdentityTables, OAuthTables {
  idempotency_keys: IdempotencyKeysTable;
}
