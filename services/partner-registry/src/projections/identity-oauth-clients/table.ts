import type { Jsonb } from '@pep/db';
import type { OAuthClientState } from '../../domain/oauth-client/oauth-client.ts';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const OAUTH_CLIENTS_PROJECTION = 'oauth-clients';

/** Row of the `oauth_clients` read model: the folded aggregate (secret hash only). */
export interface OAuthClientsTable {
  client_id: string;
  application_id: string;
  partner_id: string;
  state: Jsonb<OAuthClientState>;
}

export interface OAuthClientsTables {
  oauth_clients: OAuthClientsTable;
}
