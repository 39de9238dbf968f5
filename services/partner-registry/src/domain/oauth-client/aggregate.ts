import type { AggregateKind } from '@pep/events';
import { OAUTH_CLIENTS_PROJECTION } from '../../projections/identity-oauth-clients/table.ts';
import { evolveOAuthClient, initialOAuthClient, type OAuthClientState } from './oauth-client.ts';

/** An OAuth client (secret hash only), as the command bus loads and appends it (`<prefix>.agg.oauth_client.<id>`); commands wait for its read model. */
export const oauthClientAggregate: AggregateKind<OAuthClientState | undefined> = {
  kind: 'oauth_client',
  initial: initialOAuthClient,
  evolve: evolveOAuthClient,
  projection: OAUTH_CLIENTS_PROJECTION,
};
