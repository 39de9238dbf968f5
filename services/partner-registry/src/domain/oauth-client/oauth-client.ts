import type { DataOf, OAuthClient, OAuthClientCreated, OAuthClientRevoked, OAuthClientSecretRotated, PlatformEvent } from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

/** The OAuth client aggregate (subject `<prefix>.agg.oauth_client.<client_id>`); the secret exists only as a hash. */
export interface OAuthClientState {
  client_id: string;
  application_id: string;
  partner_id: string;
  type: OAuthClient['type'];
  redirect_uris: string[];
  scopes: string[];
  secret_hash: string | null;
  revoked: boolean;
  created_at: string;
}

export type OAuthClientEvent =
  | { type: 'oauth_client.created'; data: DataOf<typeof OAuthClientCreated> }
  | { type: 'oauth_client.revoked'; data: DataOf<typeof OAuthClientRevoked> }
  | { type: 'oauth_client.secret_rotated'; data: DataOf<typeof OAuthClientSecretRotated> };

/** The events of this aggregate (a type guard: an evolve narrows to its own union instead of casting). */
export const isOAuthClientEvent = eventsOfTypes<OAuthClientEvent>([
  'oauth_client.created',
  'oauth_client.revoked',
  'oauth_client.secret_rotated',
]);

export const initialOAuthClient = (): OAuthClientState | undefined => undefined;

export function evolveOAuthClient(state: OAuthClientState | undefined, event: PlatformEvent): OAuthClientState | undefined {
  if (!isOAuthClientEvent(event)) return state;
  const e = event;
  switch (e.type) {
    case 'oauth_client.created':
      if (state) return state;
      return {
        client_id: e.data.client_id,
        application_id: e.data.application_id,
        partner_id: e.data.partner_id,
        type: e.data.type,
        redirect_uris: e.data.redirect_uris,
        scopes: e.data.scopes,
        secret_hash: e.data.secret_hash,
        revoked: false,
        created_at: event.time,
      };
    case 'oauth_client.revoked':
      return state ? { ...state, revoked: true } : state;
    case 'oauth_client.secret_rotated':
      return state ? { ...state, secret_hash: e.data.secret_hash } : state;
    default: {
      const never: never = e;
      return never;
    }
  }
}

export function toOAuthClient(s: OAuthClientState): OAuthClient {
  return {
    client_id: s.client_id,
    object: 'oauth_client',
    application_id: s.application_id,
    partner_id: s.partner_id,
    type: s.type,
    redirect_uris: s.redirect_uris,
    scopes: s.scopes,
    status: s.revoked ? 'revoked' : 'active',
    created_at: s.created_at,
  };
}
