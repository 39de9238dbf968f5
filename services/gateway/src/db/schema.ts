import type { PlatformTables } from '@pep/db';
import type { Generated } from 'kysely';

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

export interface GatewayDB extends PlatformTables {
  idempotency_keys: IdempotencyKeysTable;
}
