import { z } from 'zod';
import { idParams, PlatformId, ULID_LOWER } from '../common/ids.ts';
import { safeEmail, safeText } from '../common/text.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes, type RouteContract } from '../http/routes.ts';
import { SIGN_IN_METHODS } from './events.ts';
import { ACCOUNT_SCOPE, PartnerRoleSchema, UserRoleSchema } from './roles.ts';

/** The name of the portal session cookie (`__Host-` prefixed when the cookie is `Secure`). */
export const SESSION_COOKIE = 'pep_session';
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
/** The header a cookie-authenticated state-changing request carries its CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token';

export const PASSWORD_MIN_LENGTH = 12;
export const PasswordSchema = safeText()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(128, 'must be at most 128 characters');

/** A one-time token from an emailed link: the user id, a dot, 32 random bytes base64url. */
export const ONE_TIME_TOKEN_PATTERN = new RegExp(`^usr_${ULID_LOWER}\\.[A-Za-z0-9_-]{43}$`);
export const OneTimeTokenSchema = safeText().regex(ONE_TIME_TOKEN_PATTERN, 'must be the token from the emailed link');

export const PartnerUserSchema = z
  .object({
    id: safeText(),
    object: z.literal('partner_user'),
    partner_id: safeText().nullable(),
    email: safeText(),
    name: safeText().nullable(),
    role: UserRoleSchema,
    status: z.enum(['invited', 'active', 'removed']),
    email_verified: z.boolean(),
    invited_at: safeText().nullable(),
    activated_at: safeText().nullable(),
    last_sign_in_at: safeText().nullable(),
  })
  .meta({ id: 'PartnerUser' });
export type PartnerUser = z.output<typeof PartnerUserSchema>;

export const SessionSchema = z
  .object({
    id: safeText(),
    object: z.literal('session'),
    method: z.enum(SIGN_IN_METHODS),
    created_at: safeText(),
    last_seen_at: safeText(),
    expires_at: safeText().describe('Absolute expiry'),
    idle_expires_at: safeText().describe('Ends earlier than `expires_at` when unused until then'),
    client_address: safeText().nullable(),
    user_agent: safeText().nullable(),
    current: z.boolean().describe('The session of this request'),
  })
  .meta({ id: 'Session' });
export type Session = z.output<typeof SessionSchema>;

export const SignedInSchema = z
  .object({
    user: PartnerUserSchema,
    session: SessionSchema,
    scopes: z.array(safeText()).describe("What the session may do (the role's scopes)"),
    csrf_token: safeText().describe(`Send it as \`${CSRF_HEADER}\` on every state-changing request made with the cookie`),
  })
  .meta({ id: 'SignedIn' });
export type SignedIn = z.output<typeof SignedInSchema>;

export const SignInBody = z
  .object({ email: safeEmail().max(320), password: safeText().min(1).max(128) })
  .strict()
  .meta({ id: 'SignIn' });
export const EmailBody = z
  .object({ email: safeEmail().max(320) })
  .strict()
  .meta({ id: 'EmailOnly' });
export const TokenBody = z.object({ token: OneTimeTokenSchema }).strict().meta({ id: 'OneTimeToken' });
export const AcceptInvitationBody = z
  .object({ token: OneTimeTokenSchema, password: PasswordSchema, name: safeText().trim().min(1).max(200).optional() })
  .strict()
  .meta({ id: 'AcceptInvitation' });
export const CompletePasswordResetBody = z
  .object({ token: OneTimeTokenSchema, password: PasswordSchema })
  .strict()
  .meta({ id: 'CompletePasswordReset' });
export const InviteUserBody = z
  .object({ email: safeEmail().max(320), role: PartnerRoleSchema })
  .strict()
  .meta({ id: 'InviteUser' });
export const ChangeRoleBody = z.object({ role: PartnerRoleSchema }).strict().meta({ id: 'ChangeUserRole' });

export const AcceptedSchema = z
  .object({ accepted: z.literal(true), detail: safeText() })
  .meta({ id: 'Accepted', description: 'Answered whether or not the address has an account (no account enumeration)' });
export type Accepted = z.output<typeof AcceptedSchema>;
export const EndedSessionsSchema = z.object({ ended: z.number().int().min(0) }).meta({ id: 'EndedSessions' });

const common = { tag: 'Accounts', service: 'partner-registry' } as const;
const open = { ...common, public: true, scope: ACCOUNT_SCOPE } as const;
/**
 * Routes that hash a password (scrypt, memory-hard by design) wait longer for the registry than the default 5 s: a
 * burst of sign-ins queues on the hashing threads, and a slow honest answer beats a 503 the client must retry.
 */
const hashing = { timeoutMs: 15_000 } as const;

export const accountRoutes: RouteContract[] = defineRoutes([
  {
    ...open,
    ...hashing,
    operationId: 'signIn',
    method: 'POST',
    path: '/v1/auth/sign-in',
    summary: 'Sign in to the portal with email and password (sets the session cookie)',
    pattern: 'auth.sign-in',
    body: SignInBody,
    session: 'start',
    success: { status: 200, schema: SignedInSchema },
    errors: [401, 403],
  },
  {
    ...open,
    operationId: 'requestSignInLink',
    method: 'POST',
    path: '/v1/auth/sign-in-links',
    summary: 'Email a one-time sign-in link (valid 15 minutes)',
    pattern: 'auth.sign-in-link',
    body: EmailBody,
    success: { status: 202, schema: AcceptedSchema },
  },
  {
    ...open,
    operationId: 'redeemSignInLink',
    method: 'POST',
    path: '/v1/auth/sign-in-links/redeem',
    summary: 'Sign in with the token of an emailed sign-in link (sets the session cookie)',
    pattern: 'auth.redeem-sign-in-link',
    body: TokenBody,
    session: 'start',
    success: { status: 200, schema: SignedInSchema },
    errors: [401],
  },
  {
    ...open,
    ...hashing,
    operationId: 'acceptInvitation',
    method: 'POST',
    path: '/v1/auth/invitations/accept',
    summary: 'Accept an emailed invitation: set a password and sign in (sets the session cookie)',
    pattern: 'auth.accept-invitation',
    body: AcceptInvitationBody,
    session: 'start',
    success: { status: 200, schema: SignedInSchema },
    errors: [401],
  },
  {
    ...open,
    operationId: 'requestPasswordReset',
    method: 'POST',
    path: '/v1/auth/password-resets',
    summary: 'Email a password reset link (valid 30 minutes)',
    pattern: 'auth.password-reset',
    body: EmailBody,
    success: { status: 202, schema: AcceptedSchema },
  },
  {
    ...open,
    ...hashing,
    operationId: 'completePasswordReset',
    method: 'POST',
    path: '/v1/auth/password-resets/complete',
    summary: 'Set a new password with the token of a reset link; every session of the user ends',
    pattern: 'auth.complete-password-reset',
    body: CompletePasswordResetBody,
    success: { status: 200, schema: PartnerUserSchema },
    errors: [401],
  },
  {
    ...open,
    operationId: 'confirmEmail',
    method: 'POST',
    path: '/v1/auth/email-verifications/confirm',
    summary: 'Confirm the email address with the token of a verification link',
    pattern: 'auth.confirm-email',
    body: TokenBody,
    success: { status: 200, schema: PartnerUserSchema },
    errors: [401],
  },
  {
    ...common,
    operationId: 'requestEmailVerification',
    method: 'POST',
    path: '/v1/auth/email-verifications',
    summary: "Email a verification link to the signed-in user's address",
    pattern: 'auth.email-verification',
    scope: ACCOUNT_SCOPE,
    success: { status: 202, schema: AcceptedSchema },
  },
  {
    ...common,
    operationId: 'getCurrentSession',
    method: 'GET',
    path: '/v1/auth/session',
    summary: 'The signed-in user, this session, its scopes and CSRF token',
    pattern: 'auth.current-session',
    scope: ACCOUNT_SCOPE,
    session: 'current',
    success: { status: 200, schema: SignedInSchema },
  },
  {
    ...common,
    operationId: 'listSessions',
    method: 'GET',
    path: '/v1/auth/sessions',
    summary: "The signed-in user's active sessions",
    pattern: 'auth.list-sessions',
    scope: ACCOUNT_SCOPE,
    success: { status: 200, schema: pageOf(SessionSchema) },
  },
  {
    ...common,
    operationId: 'endSession',
    method: 'DELETE',
    path: '/v1/auth/sessions/:id',
    summary: "End one of the signed-in user's sessions",
    pattern: 'auth.end-session',
    scope: ACCOUNT_SCOPE,
    params: idParams('ses'),
    success: { status: 200, schema: EndedSessionsSchema },
  },
  {
    ...common,
    operationId: 'signOut',
    method: 'POST',
    path: '/v1/auth/sign-out',
    summary: 'End this session (clears the cookie)',
    pattern: 'auth.sign-out',
    scope: ACCOUNT_SCOPE,
    session: 'end',
    success: { status: 200, schema: EndedSessionsSchema },
  },
  {
    ...common,
    operationId: 'signOutEverywhere',
    method: 'POST',
    path: '/v1/auth/sign-out-everywhere',
    summary: 'End every session of the signed-in user (clears the cookie)',
    pattern: 'auth.sign-out-everywhere',
    scope: ACCOUNT_SCOPE,
    session: 'end',
    success: { status: 200, schema: EndedSessionsSchema },
  },
  {
    ...common,
    operationId: 'inviteUser',
    method: 'POST',
    path: '/v1/partners/:id/users',
    summary: 'Invite a user to the partner by email, with a role',
    pattern: 'users.invite',
    scope: 'manage:team',
    params: idParams('prt'),
    body: InviteUserBody,
    success: { status: 201, schema: PartnerUserSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'invitePlatformAdmin',
    method: 'POST',
    path: '/v1/admin/users',
    summary: 'Invite another platform admin by email (platform admins only)',
    pattern: 'users.invite-admin',
    scope: 'admin',
    adminOnly: true,
    body: EmailBody,
    success: { status: 201, schema: PartnerUserSchema },
    errors: [403, 409],
  },
  {
    ...common,
    operationId: 'listPlatformAdmins',
    method: 'GET',
    path: '/v1/admin/users',
    summary: 'The platform admins and their invitations (platform admins only)',
    pattern: 'users.list-admins',
    scope: 'admin',
    adminOnly: true,
    query: PageQuerySchema,
    success: { status: 200, schema: pageOf(PartnerUserSchema) },
    errors: [403],
  },
  {
    ...common,
    operationId: 'listUsers',
    method: 'GET',
    path: '/v1/partners/:id/users',
    summary: "The partner's users and invitations",
    pattern: 'users.list',
    scope: 'read:team',
    params: idParams('prt'),
    query: PageQuerySchema,
    success: { status: 200, schema: pageOf(PartnerUserSchema) },
  },
  {
    ...common,
    operationId: 'changeUserRole',
    method: 'PATCH',
    path: '/v1/partner-users/:id',
    summary: "Change a user's role (only an owner makes or unmakes owners)",
    pattern: 'users.change-role',
    scope: 'manage:team',
    params: idParams('usr'),
    body: ChangeRoleBody,
    success: { status: 200, schema: PartnerUserSchema },
    errors: [409],
  },
  {
    ...common,
    operationId: 'removeUser',
    method: 'DELETE',
    path: '/v1/partner-users/:id',
    summary: 'Remove a user from the partner; their sessions end',
    pattern: 'users.remove',
    scope: 'manage:team',
    params: idParams('usr'),
    success: { status: 200, schema: PartnerUserSchema },
    errors: [409],
  },
]);

export const SessionIdSchema = PlatformId('ses');

/** Internal (not HTTP) request patterns of the partner-registry used by the gateway. */
export const ACCOUNTS_RPC = {
  /** `{ session_hash }` → `{ principal, session_id, user_id, touch }` or 401. */
  authenticateSession: 'auth.authenticate-session',
  /** Development and demo only (refused in production, admin principals only): `{ users: [{ email, password, role, partner_id }] }`. */
  seedUsers: 'auth.seed-users',
} as const;
