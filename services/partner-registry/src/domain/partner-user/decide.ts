import type { Session, TokenPurpose, UserRole } from '@pep/contracts';
import { ConflictError, ForbiddenError, IllegalTransitionError, UnauthorizedError } from '@pep/runtime';
import type { PartnerUserEvent, PartnerUserState } from './partner-user.ts';

/** A session to start: the caller minted the secret; only its hash comes in. */
export interface NewSession {
  session_id: string;
  session_hash: string;
  expires_at: string;
  client_address: string | null;
  user_agent: string | null;
}

/** Who acts on a team: a signed-in user's role, or a platform admin credential. */
export type Actor = { role: UserRole | 'platform'; id: string };

/**
 * Commands on a partner user. Secrets (passwords, one-time tokens, session secrets) are turned into hashes by
 * the caller, and checking a password (scrypt, slow and not pure) happens before the decider: the decider gets
 * its outcome as `password_ok`.
 */
export type PartnerUserCommand =
  | {
      type: 'InviteUser';
      data: { user_id: string; partner_id: string | null; email: string; role: UserRole; token_hash: string; token_expires_at: string };
      actor: Actor;
    }
  | { type: 'SeedUser'; data: { user_id: string; partner_id: string | null; email: string; role: UserRole; password_hash: string } }
  | { type: 'AcceptInvitation'; token_hash: string; password_hash: string; name: string | null; session: NewSession; now: Date }
  | { type: 'SignInWithPassword'; password_ok: boolean; session: NewSession }
  | { type: 'IssueToken'; purpose: Exclude<TokenPurpose, 'invitation'>; token_hash: string; expires_at: string }
  | { type: 'RedeemSignInLink'; token_hash: string; session: NewSession; now: Date }
  | { type: 'CompletePasswordReset'; token_hash: string; password_hash: string; now: Date }
  | { type: 'ConfirmEmail'; token_hash: string; now: Date }
  | { type: 'ChangeRole'; role: UserRole; actor: Actor; other_owners: number }
  | { type: 'RemoveUser'; actor: Actor; other_owners: number }
  | { type: 'TouchSession'; session_id: string; at: Date; granularity_ms: number }
  | { type: 'SignOut'; session_ids: string[] | 'all'; reason: 'sign_out' | 'everywhere' | 'revoked' };

/** The one answer to every failed sign-in, whatever failed (no account enumeration). */
export const INVALID_SIGN_IN = 'the email or password is not correct';
const INVALID_LINK = 'the link is not valid or has expired; ask for a new one';

function active(state: PartnerUserState | undefined, message = INVALID_SIGN_IN): PartnerUserState {
  if (state?.status !== 'active') throw new UnauthorizedError(message);
  return state;
}

/** The outstanding token of `purpose` matches and has not expired (else 401 with one message for all cases). */
function checkToken(state: PartnerUserState, purpose: TokenPurpose, hash: string, now: Date): void {
  const token = state.tokens[purpose];
  if (!token || token.hash !== hash || Date.parse(token.expires_at) <= now.getTime()) throw new UnauthorizedError(INVALID_LINK);
}

function signedIn(state: PartnerUserState, method: Session['method'], s: NewSession): PartnerUserEvent {
  return { type: 'partner_user.signed_in', data: { user_id: state.id, partner_id: state.partner_id, method, ...s } };
}

/** Only an owner (or a platform admin) makes, unmakes or removes an owner; the last owner stays. */
function checkOwnerRules(state: PartnerUserState, actor: Actor, nextRole: UserRole | null, otherOwners: number): void {
  const touchesOwner = state.role === 'owner' || nextRole === 'owner';
  if (touchesOwner && actor.role !== 'owner' && actor.role !== 'platform') {
    throw new ForbiddenError('only an owner can make, change or remove an owner');
  }
  if (state.role === 'owner' && state.status === 'active' && nextRole !== 'owner' && otherOwners === 0) {
    throw new IllegalTransitionError('the partner must keep at least one owner', { extensions: { current_role: 'owner' } });
  }
}

export function decidePartnerUser(command: PartnerUserCommand, state: PartnerUserState | undefined): PartnerUserEvent[] {
  switch (command.type) {
    case 'InviteUser': {
      const d = command.data;
      if (state && state.status !== 'removed' && state.partner_id !== d.partner_id) {
        throw new ConflictError('this email address already has an account with another partner');
      }
      if (state?.status === 'active') throw new ConflictError('this email address is already a member of the partner');
      const adminInvitation = d.role === 'platform_admin' || d.partner_id === null;
      if (adminInvitation && (command.actor.role !== 'platform' || d.role !== 'platform_admin' || d.partner_id !== null)) {
        throw new ForbiddenError('only a platform admin invites a platform admin, and only without a partner');
      }
      if (d.role === 'owner' && command.actor.role !== 'owner' && command.actor.role !== 'platform') {
        throw new ForbiddenError('only an owner can invite an owner');
      }
      // Inviting again (still invited, or removed before) issues a fresh invitation link.
      return [{ type: 'partner_user.invited', data: { ...d, invited_by: command.actor.id } }];
    }
    case 'SeedUser': {
      if (state?.status === 'active') return [];
      return [{ type: 'partner_user.activated', data: { ...command.data, name: null, email_verified: true } }];
    }
    case 'AcceptInvitation': {
      if (state?.status !== 'invited') throw new UnauthorizedError(INVALID_LINK);
      checkToken(state, 'invitation', command.token_hash, command.now);
      const activated: PartnerUserEvent = {
        type: 'partner_user.activated',
        data: {
          user_id: state.id,
          partner_id: state.partner_id,
          email: state.email,
          role: state.role,
          name: command.name,
          password_hash: command.password_hash,
          // The link reached the address: that proves it.
          email_verified: true,
        },
      };
      return [activated, signedIn({ ...state, status: 'active' }, 'invitation', command.session)];
    }
    case 'SignInWithPassword': {
      const s = active(state);
      if (!command.password_ok) throw new UnauthorizedError(INVALID_SIGN_IN);
      return [signedIn(s, 'password', command.session)];
    }
    case 'IssueToken': {
      // Nobody to send it to: nothing happens, and the caller answers the same as when something did.
      if (state?.status !== 'active') return [];
      if (command.purpose === 'email_verification' && state.email_verified) return [];
      return [
        {
          type: 'partner_user.token_issued',
          data: {
            user_id: state.id,
            partner_id: state.partner_id,
            purpose: command.purpose,
            token_hash: command.token_hash,
            expires_at: command.expires_at,
          },
        },
      ];
    }
    case 'RedeemSignInLink': {
      const s = active(state, INVALID_LINK);
      checkToken(s, 'sign_in_link', command.token_hash, command.now);
      return [signedIn(s, 'link', command.session)];
    }
    case 'CompletePasswordReset': {
      const s = active(state, INVALID_LINK);
      checkToken(s, 'password_reset', command.token_hash, command.now);
      const events: PartnerUserEvent[] = [
        { type: 'partner_user.password_changed', data: { user_id: s.id, partner_id: s.partner_id, password_hash: command.password_hash } },
      ];
      const ids = Object.keys(s.sessions);
      if (ids.length > 0) {
        events.push({
          type: 'partner_user.signed_out',
          data: { user_id: s.id, partner_id: s.partner_id, session_ids: ids, reason: 'password_reset' },
        });
      }
      return events;
    }
    case 'ConfirmEmail': {
      const s = active(state, INVALID_LINK);
      checkToken(s, 'email_verification', command.token_hash, command.now);
      return [{ type: 'partner_user.email_verified', data: { user_id: s.id, partner_id: s.partner_id } }];
    }
    case 'ChangeRole': {
      if (!state || state.status === 'removed') throw new IllegalTransitionError('the user has been removed');
      if (state.role === 'platform_admin' || command.role === 'platform_admin') {
        throw new ForbiddenError('platform admins are not partner team members');
      }
      if (state.role === command.role) return [];
      checkOwnerRules(state, command.actor, command.role, command.other_owners);
      return [
        {
          type: 'partner_user.role_changed',
          data: { user_id: state.id, partner_id: state.partner_id, role: command.role, changed_by: command.actor.id },
        },
      ];
    }
    case 'RemoveUser': {
      if (!state) throw new IllegalTransitionError('no such user');
      if (state.status === 'removed') return [];
      if (state.id === command.actor.id) throw new IllegalTransitionError('you cannot remove yourself; ask another owner or admin');
      checkOwnerRules(state, command.actor, null, command.other_owners);
      return [{ type: 'partner_user.removed', data: { user_id: state.id, partner_id: state.partner_id, removed_by: command.actor.id } }];
    }
    case 'TouchSession': {
      const s = state?.sessions[command.session_id];
      if (!state || !s) return [];
      if (command.at.getTime() - Date.parse(s.last_seen_at) < command.granularity_ms) return [];
      return [
        {
          type: 'partner_user.session_touched',
          data: { user_id: state.id, partner_id: state.partner_id, session_id: s.id, last_seen_at: command.at.toISOString() },
        },
      ];
    }
    case 'SignOut': {
      if (!state) return [];
      const ids = command.session_ids === 'all' ? Object.keys(state.sessions) : command.session_ids.filter((id) => state.sessions[id]);
      if (ids.length === 0) return [];
      return [
        {
          type: 'partner_user.signed_out',
          data: { user_id: state.id, partner_id: state.partner_id, session_ids: ids, reason: command.reason },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
