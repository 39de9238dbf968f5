import { createHash } from 'node:crypto';
import type {
  DataOf,
  PartnerUser,
  PartnerUserActivated,
  PartnerUserEmailVerified,
  PartnerUserInvited,
  PartnerUserPasswordChanged,
  PartnerUserRemoved,
  PartnerUserRoleChanged,
  PartnerUserSessionTouched,
  PartnerUserSignedIn,
  PartnerUserSignedOut,
  PartnerUserTokenIssued,
  PlatformEvent,
  Session,
  TokenPurpose,
  UserRole,
} from '@pep/contracts';
import { ulidFrom } from '@pep/runtime';

/** One active session of a user: only the SHA-256 of its secret is kept. */
export interface SessionState {
  id: string;
  hash: string;
  method: Session['method'];
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  client_address: string | null;
  user_agent: string | null;
}

/** The partner user aggregate (subject `<prefix>.agg.partner_user.<id>`): account, one-time token hashes, sessions. */
export interface PartnerUserState {
  id: string;
  partner_id: string | null;
  email: string;
  role: UserRole;
  name: string | null;
  status: PartnerUser['status'];
  password_hash: string | null;
  email_verified: boolean;
  invited_at: string | null;
  activated_at: string | null;
  last_sign_in_at: string | null;
  /** Outstanding one-time tokens by purpose (hash and expiry); a newer one replaces the older. */
  tokens: Partial<Record<TokenPurpose, { hash: string; expires_at: string }>>;
  /** Active sessions by id (ended ones are dropped; absolutely expired ones at the next sign-in). */
  sessions: Record<string, SessionState>;
}

export type PartnerUserEvent =
  | { type: 'partner_user.invited'; data: DataOf<typeof PartnerUserInvited> }
  | { type: 'partner_user.activated'; data: DataOf<typeof PartnerUserActivated> }
  | { type: 'partner_user.token_issued'; data: DataOf<typeof PartnerUserTokenIssued> }
  | { type: 'partner_user.email_verified'; data: DataOf<typeof PartnerUserEmailVerified> }
  | { type: 'partner_user.password_changed'; data: DataOf<typeof PartnerUserPasswordChanged> }
  | { type: 'partner_user.role_changed'; data: DataOf<typeof PartnerUserRoleChanged> }
  | { type: 'partner_user.removed'; data: DataOf<typeof PartnerUserRemoved> }
  | { type: 'partner_user.signed_in'; data: DataOf<typeof PartnerUserSignedIn> }
  | { type: 'partner_user.session_touched'; data: DataOf<typeof PartnerUserSessionTouched> }
  | { type: 'partner_user.signed_out'; data: DataOf<typeof PartnerUserSignedOut> };

export const PARTNER_USER_EVENT_TYPES: ReadonlySet<string> = new Set<PartnerUserEvent['type']>([
  'partner_user.invited',
  'partner_user.activated',
  'partner_user.token_issued',
  'partner_user.email_verified',
  'partner_user.password_changed',
  'partner_user.role_changed',
  'partner_user.removed',
  'partner_user.signed_in',
  'partner_user.session_touched',
  'partner_user.signed_out',
]);

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/**
 * A user's id is derived from their email address (`usr_` + 26 base32 characters of its SHA-256), so an address
 * is one aggregate: two invitations of the same address meet in one decider, and sign-in loads the account
 * straight from the stream (no lookup that could lag).
 */
export function userIdFor(email: string): string {
  const digest = createHash('sha256')
    .update(`partner_user:${normalizeEmail(email)}`)
    .digest();
  return `usr_${ulidFrom(0, digest).toLowerCase()}`;
}

export const initialPartnerUser = (): PartnerUserState | undefined => undefined;

const without = <K extends string, V>(record: Partial<Record<K, V>>, key: K): Partial<Record<K, V>> => {
  const { [key]: _removed, ...rest } = record;
  return rest as Partial<Record<K, V>>;
};

function isUserEvent(event: PlatformEvent): event is PlatformEvent & PartnerUserEvent {
  return PARTNER_USER_EVENT_TYPES.has(event.type);
}

export function evolvePartnerUser(state: PartnerUserState | undefined, event: PlatformEvent): PartnerUserState | undefined {
  if (!isUserEvent(event)) return state;
  const e: PartnerUserEvent = event;
  if (e.type === 'partner_user.invited') {
    const d = e.data;
    return {
      id: d.user_id,
      partner_id: d.partner_id,
      email: d.email,
      role: d.role,
      name: null,
      status: 'invited',
      password_hash: null,
      email_verified: false,
      invited_at: event.time,
      activated_at: null,
      last_sign_in_at: null,
      tokens: { invitation: { hash: d.token_hash, expires_at: d.token_expires_at } },
      sessions: {},
    };
  }
  if (e.type === 'partner_user.activated') {
    const d = e.data;
    return {
      id: d.user_id,
      partner_id: d.partner_id,
      email: d.email,
      role: d.role,
      name: d.name,
      status: 'active',
      password_hash: d.password_hash,
      email_verified: d.email_verified,
      invited_at: state?.invited_at ?? null,
      activated_at: event.time,
      last_sign_in_at: state?.last_sign_in_at ?? null,
      tokens: {},
      sessions: state?.sessions ?? {},
    };
  }
  if (!state) return state;
  switch (e.type) {
    case 'partner_user.token_issued':
      return { ...state, tokens: { ...state.tokens, [e.data.purpose]: { hash: e.data.token_hash, expires_at: e.data.expires_at } } };
    case 'partner_user.email_verified':
      return { ...state, email_verified: true, tokens: without(state.tokens, 'email_verification') };
    case 'partner_user.password_changed':
      return { ...state, password_hash: e.data.password_hash, tokens: without(state.tokens, 'password_reset') };
    case 'partner_user.role_changed':
      return { ...state, role: e.data.role };
    case 'partner_user.removed':
      return { ...state, status: 'removed', password_hash: null, tokens: {}, sessions: {} };
    case 'partner_user.signed_in': {
      const d = e.data;
      const live = Object.fromEntries(Object.entries(state.sessions).filter(([, s]) => Date.parse(s.expires_at) > Date.parse(event.time)));
      const session: SessionState = {
        id: d.session_id,
        hash: d.session_hash,
        method: d.method,
        created_at: event.time,
        last_seen_at: event.time,
        expires_at: d.expires_at,
        client_address: d.client_address,
        user_agent: d.user_agent,
      };
      return {
        ...state,
        last_sign_in_at: event.time,
        email_verified: state.email_verified || d.method === 'link',
        tokens: d.method === 'link' ? without(state.tokens, 'sign_in_link') : state.tokens,
        sessions: { ...live, [d.session_id]: session },
      };
    }
    case 'partner_user.session_touched': {
      const s = state.sessions[e.data.session_id];
      if (!s) return state;
      return { ...state, sessions: { ...state.sessions, [s.id]: { ...s, last_seen_at: e.data.last_seen_at } } };
    }
    case 'partner_user.signed_out': {
      const ended = new Set(e.data.session_ids);
      return { ...state, sessions: Object.fromEntries(Object.entries(state.sessions).filter(([id]) => !ended.has(id))) };
    }
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** When a session ends if nothing else happens: the earlier of its absolute expiry and its idle expiry. */
export function sessionEndsAt(s: Pick<SessionState, 'expires_at' | 'last_seen_at'>, idleMs: number): number {
  return Math.min(Date.parse(s.expires_at), Date.parse(s.last_seen_at) + idleMs);
}

export function isSessionLive(s: Pick<SessionState, 'expires_at' | 'last_seen_at'>, now: Date, idleMs: number): boolean {
  return sessionEndsAt(s, idleMs) > now.getTime();
}

export function toPartnerUser(s: PartnerUserState): PartnerUser {
  return {
    id: s.id,
    object: 'partner_user',
    partner_id: s.partner_id,
    email: s.email,
    name: s.name,
    role: s.role,
    status: s.status,
    email_verified: s.email_verified,
    invited_at: s.invited_at,
    activated_at: s.activated_at,
    last_sign_in_at: s.last_sign_in_at,
  };
}

export function toSession(s: SessionState, idleMs: number, currentId: string | undefined): Session {
  return {
    id: s.id,
    object: 'session',
    method: s.method,
    created_at: s.created_at,
    last_seen_at: s.last_seen_at,
    expires_at: s.expires_at,
    idle_expires_at: new Date(sessionEndsAt(s, idleMs)).toISOString(),
    client_address: s.client_address,
    user_agent: s.user_agent,
    current: s.id === currentId,
  };
}
