import type { Jsonb } from '@pep/db';
import type { ApiKeyState } from '../../domain/api-key/api-key.ts';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const API_KEYS_PROJECTION = 'api-keys';

/** Row of the `api_keys` read model: the folded aggregate (hashes included, secrets never exist here). */
export interface ApiKeysTable {
  id: string;
  partner_id: string;
  state: Jsonb<ApiKeyState>;
}

export interface ApiKeysTables {
  api_keys: ApiKeysTable;
}
