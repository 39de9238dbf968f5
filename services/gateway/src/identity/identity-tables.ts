import type { JSONColumnType } from 'kysely';
import type { ClientEntry, KeyEntry, PartnerEntry } from './identity-state.ts';

/** Rows of the gateway's persisted identity projection: each entry as the in-memory state holds it (jsonb, written as JSON text). */
export interface IdentityTables {
  gw_identity_partners: { id: string; entry: JSONColumnType<PartnerEntry> };
  gw_identity_api_keys: { id: string; entry: JSONColumnType<KeyEntry> };
  gw_identity_oauth_clients: { id: string; entry: JSONColumnType<ClientEntry> };
}

export const IDENTITY_TABLES = {
  partner: 'gw_identity_partners',
  api_key: 'gw_identity_api_keys',
  oauth_client: 'gw_identity_oauth_clients',
} as const;
