import { z } from 'zod';
import { defineEvent } from '../catalog/registry.ts';
import { PlatformId } from '../common/ids.ts';
import { safeDatetime, safeEmail, safeText } from '../common/text.ts';
import { UserRoleSchema } from './roles.ts';

/**
 * Events of portal user accounts (aggregate `partner_user`, owned by the partner-registry). No secret ever
 * appears in an event: one-time tokens and session ids as their SHA-256, passwords as a scrypt hash string.
 * The family is a credential family: never delivered to partner webhook endpoints.
 */
const Sha256Hex = safeText().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 hex digest');
const Timestamp = safeDatetime({ offset: true });
const UserId = PlatformId('usr');
const PartnerRef = PlatformId('prt').nullable().describe('null for platform admins');
const PasswordHash = safeText()
  .regex(/^\$scrypt\$/, 'must be a scrypt password hash')
  .max(300);
const user = { origin: 'domain', aggregate: 'partner_user', category: 'accounts' } as const;

export const TOKEN_PURPOSES = ['invitation', 'sign_in_link', 'password_reset', 'email_verification'] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];
export const SIGN_IN_METHODS = ['password', 'link', 'invitation'] as const;

export const PartnerUserInvited = defineEvent({
  ...user,
  type: 'partner_user.invited',
  version: 1,
  description: 'A user was invited by email (the invitation link went to that address; only its hash is kept).',
  data: z.object({
    user_id: UserId,
    partner_id: PartnerRef,
    email: safeEmail(),
    role: UserRoleSchema,
    invited_by: safeText(),
    token_hash: Sha256Hex,
    token_expires_at: Timestamp,
  }),
});

export const PartnerUserActivated = defineEvent({
  ...user,
  type: 'partner_user.activated',
  version: 1,
  description: 'The user set a password (accepting the invitation, or seeded by configuration) and may sign in.',
  data: z.object({
    user_id: UserId,
    partner_id: PartnerRef,
    email: safeEmail(),
    role: UserRoleSchema,
    name: safeText().nullable(),
    password_hash: PasswordHash,
    email_verified: z.boolean(),
  }),
});

export const PartnerUserTokenIssued = defineEvent({
  ...user,
  type: 'partner_user.token_issued',
  version: 1,
  description: 'A one-time link (sign-in, password reset, email verification) was emailed; only its hash is kept.',
  data: z.object({
    user_id: UserId,
    partner_id: PartnerRef,
    purpose: z.enum(TOKEN_PURPOSES),
    token_hash: Sha256Hex,
    expires_at: Timestamp,
  }),
});

export const PartnerUserEmailVerified = defineEvent({
  ...user,
  type: 'partner_user.email_verified',
  version: 1,
  description: 'The user proved they receive mail at their address.',
  data: z.object({ user_id: UserId, partner_id: PartnerRef }),
});

export const PartnerUserPasswordChanged = defineEvent({
  ...user,
  type: 'partner_user.password_changed',
  version: 1,
  description: 'The password was replaced (a reset by emailed link); every session was ended with it.',
  data: z.object({ user_id: UserId, partner_id: PartnerRef, password_hash: PasswordHash }),
});

export const PartnerUserRoleChanged = defineEvent({
  ...user,
  type: 'partner_user.role_changed',
  version: 1,
  description: "The user's role changed; their sessions carry the new role's scopes from the next request.",
  data: z.object({ user_id: UserId, partner_id: PartnerRef, role: UserRoleSchema, changed_by: safeText() }),
});

export const PartnerUserRemoved = defineEvent({
  ...user,
  type: 'partner_user.removed',
  version: 1,
  description: 'The user was removed from the partner; their sessions ended and they can no longer sign in.',
  data: z.object({ user_id: UserId, partner_id: PartnerRef, removed_by: safeText() }),
});

export const PartnerUserSignedIn = defineEvent({
  ...user,
  type: 'partner_user.signed_in',
  version: 1,
  description: 'A portal session started (only the SHA-256 of the session secret is kept).',
  data: z.object({
    user_id: UserId,
    partner_id: PartnerRef,
    session_id: PlatformId('ses'),
    session_hash: Sha256Hex,
    method: z.enum(SIGN_IN_METHODS),
    expires_at: Timestamp.describe('Absolute expiry, whatever the activity'),
    client_address: safeText().max(64).nullable(),
    user_agent: safeText().max(300).nullable(),
  }),
});

export const PartnerUserSessionTouched = defineEvent({
  ...user,
  type: 'partner_user.session_touched',
  version: 1,
  description: 'A session was used (recorded at most once a minute; the idle expiry counts from here).',
  data: z.object({ user_id: UserId, partner_id: PartnerRef, session_id: PlatformId('ses'), last_seen_at: Timestamp }),
});

export const PartnerUserSignedOut = defineEvent({
  ...user,
  type: 'partner_user.signed_out',
  version: 1,
  description: 'Sessions ended (sign-out, sign-out everywhere, a password reset, removal).',
  data: z.object({
    user_id: UserId,
    partner_id: PartnerRef,
    session_ids: z.array(PlatformId('ses')),
    reason: z.enum(['sign_out', 'everywhere', 'password_reset', 'removed', 'revoked']),
  }),
});
