import type { ApiKey, ApiKeyCreated, ApiKeyRevoked, ApiKeyRotated, ApiKeyUsed, DataOf, PlatformEvent } from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

/** The API key aggregate (subject `<prefix>.agg.api_key.<id>`): metadata and secret hashes, never a secret. */
export interface ApiKeyState {
  id: string;
  partner_id: string;
  name: string;
  environment: ApiKey['environment'];
  prefix: string;
  scopes: string[];
  expires_at: string | null;
  rate_limit_per_minute: number | null;
  revoked: boolean;
  revoked_at: string | null;
  /** SHA-256 of the current secret. */
  hash: string;
  /** After a rotation: the previous secret's hash and until when it still works. */
  previous: { hash: string; valid_until: string } | null;
  last_used_at: string | null;
  created_at: string;
}

export type ApiKeyEvent =
  | { type: 'api_key.created'; data: DataOf<typeof ApiKeyCreated> }
  | { type: 'api_key.rotated'; data: DataOf<typeof ApiKeyRotated> }
  | { type: 'api_key.revoked'; data: DataOf<typeof ApiKeyRevoked> }
  | { type: 'api_key.used'; data: DataOf<typeof ApiKeyUsed> };

/** The events of this aggregate (a type guard: an evolve narrows to its own union instead of casting). */
export const isApiKeyEvent = eventsOfTypes<ApiKeyEvent>(['api_key.created', 'api_key.rotated', 'api_key.revoked', 'api_key.used']);

export const initialApiKey = (): ApiKeyState | undefined => undefined;

export function evolveApiKey(state: ApiKeyState | undefined, event: PlatformEvent): ApiKeyState | undefined {
  if (!isApiKeyEvent(event)) return state;
  const e = event;
  if (e.type === 'api_key.created') {
    if (state) return state;
    const d = e.data;
    return {
      id: d.api_key_id,
      partner_id: d.partner_id,
      name: d.name,
      environment: d.environment,
      prefix: d.prefix,
      scopes: d.scopes,
      expires_at: d.expires_at,
      rate_limit_per_minute: d.rate_limit_per_minute,
      revoked: false,
      revoked_at: null,
      hash: d.hash,
      previous: null,
      last_used_at: null,
      created_at: event.time,
    };
  }
  if (!state) return state;
  switch (e.type) {
    case 'api_key.rotated':
      return {
        ...state,
        prefix: e.data.prefix,
        hash: e.data.hash,
        previous: { hash: e.data.previous_hash, valid_until: e.data.previous_valid_until },
      };
    case 'api_key.revoked':
      return { ...state, revoked: true, revoked_at: event.time, previous: null };
    case 'api_key.used':
      return { ...state, last_used_at: e.data.last_used_at };
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** Status as the API shows it at time `now`. */
export function apiKeyStatus(state: Pick<ApiKeyState, 'revoked' | 'expires_at'>, now: Date): ApiKey['status'] {
  if (state.revoked) return 'revoked';
  if (state.expires_at && Date.parse(state.expires_at) <= now.getTime()) return 'expired';
  return 'active';
}

export function toApiKey(state: ApiKeyState, now: Date): ApiKey {
  const previousValid = state.previous && Date.parse(state.previous.valid_until) > now.getTime() ? state.previous.valid_until : null;
  return {
    id: state.id,
    object: 'api_key',
    partner_id: state.partner_id,
    name: state.name,
    environment: state.environment,
    prefix: state.prefix,
    scopes: state.scopes,
    status: apiKeyStatus(state, now),
    expires_at: state.expires_at,
    rate_limit_per_minute: state.rate_limit_per_minute,
    previous_secret_valid_until: previousValid,
    last_used_at: state.last_used_at,
    revoked_at: state.revoked_at,
    created_at: state.created_at,
  };
}
