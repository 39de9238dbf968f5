import {
  ACCOUNTS_RPC,
  AcceptInvitationBody,
  ChangeRoleBody,
  CompletePasswordResetBody,
  EmailBody,
  InviteUserBody,
  PageQuerySchema,
  type RpcRequest,
  SignInBody,
  TokenBody,
} from '@pep/contracts';
import { ForbiddenError, NotFoundError, parseOrThrow } from '@pep/runtime';
import { assertVisible, handler, isAdmin, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { SeedUserSchema } from '../app/accounts-config.ts';
import { metaFrom } from '../app/command-bus.ts';
import { type Client, createAccounts } from '../app/partner-users.ts';
import { toPartnerUser } from '../domain/partner-user/partner-user.ts';
import { findPartnerUser, listPartnerUsers } from '../projections/partner-users/index.ts';
import type { HandlerDeps } from './deps.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const SessionHashBody = z.object({ session_hash: z.string().regex(/^[0-9a-f]{64}$/) });
const clientOf = (req: RpcRequest<unknown, unknown, unknown>): Client => ({ address: req.client_address, userAgent: undefined });

/** Portal accounts: sign-in and sessions (`auth.*`), the partner's team (`users.*`), and the gateway's session check. */
export function accountHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);
  const accounts = createAccounts({
    commands: deps.commands,
    db: deps.db,
    config: deps.config,
    logger: deps.logger,
    now: deps.now,
    mailer: deps.mailer,
  });
  const anonymous = (req: RpcRequest<unknown, unknown, unknown>) => metaFrom(req, undefined);

  /** A user of a partner the caller may see (404 otherwise, never 403). */
  const visibleUser = async (req: RpcRequest<unknown, unknown, unknown>) => {
    const { id } = parseOrThrow(IdParams, req.params);
    const user = await findPartnerUser(deps.db, id);
    if (!user || user.status === 'removed' || user.partner_id === null) throw new NotFoundError(`user ${id} not found`);
    assertVisible(req.principal, user.partner_id, `user ${id}`);
    return user;
  };

  return {
    'auth.sign-in': h(async (req) => ok(await accounts.signIn(parseOrThrow(SignInBody, req.body), clientOf(req), anonymous(req)))),
    'auth.sign-in-link': h(async (req) =>
      ok(await accounts.requestSignInLink(parseOrThrow(EmailBody, req.body).email, anonymous(req)), 202),
    ),
    'auth.redeem-sign-in-link': h(async (req) =>
      ok(await accounts.redeemSignInLink(parseOrThrow(TokenBody, req.body).token, clientOf(req), anonymous(req))),
    ),
    'auth.accept-invitation': h(async (req) =>
      ok(await accounts.acceptInvitation(parseOrThrow(AcceptInvitationBody, req.body), clientOf(req), anonymous(req))),
    ),
    'auth.password-reset': h(async (req) =>
      ok(await accounts.requestPasswordReset(parseOrThrow(EmailBody, req.body).email, anonymous(req)), 202),
    ),
    'auth.complete-password-reset': h(async (req) =>
      ok(await accounts.completePasswordReset(parseOrThrow(CompletePasswordResetBody, req.body), anonymous(req))),
    ),
    'auth.confirm-email': h(async (req) => ok(await accounts.confirmEmail(parseOrThrow(TokenBody, req.body).token, anonymous(req)))),
    'auth.email-verification': h(async (req) =>
      ok(await accounts.requestEmailVerification(req.principal, metaFrom(req, req.principal.partner_id)), 202),
    ),
    'auth.current-session': h(async (req) => ok(await accounts.currentSession(req.principal))),
    'auth.list-sessions': h(async (req) => ok(await accounts.listSessions(req.principal))),
    'auth.end-session': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      return ok(await accounts.signOut(req.principal, [id], 'revoked', metaFrom(req, req.principal.partner_id)));
    }),
    'auth.sign-out': h(async (req) =>
      ok(await accounts.signOut(req.principal, [req.principal.credential_id], 'sign_out', metaFrom(req, req.principal.partner_id))),
    ),
    'auth.sign-out-everywhere': h(async (req) =>
      ok(await accounts.signOut(req.principal, 'all', 'everywhere', metaFrom(req, req.principal.partner_id))),
    ),

    [ACCOUNTS_RPC.authenticateSession]: h(async (req) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only the gateway checks sessions');
      const { session_hash } = parseOrThrow(SessionHashBody, req.body);
      const { principal, user } = await accounts.authenticateSession(session_hash, metaFrom(req, undefined));
      return ok({ principal, user: toPartnerUser(user) });
    }),

    [ACCOUNTS_RPC.seedUsers]: h(async (req) => {
      if (!isAdmin(req.principal) || deps.config.NODE_ENV === 'production') throw new ForbiddenError('seeding users is for development');
      const { users } = parseOrThrow(z.object({ users: z.array(SeedUserSchema).max(20) }), req.body);
      await accounts.seedUsers(users);
      return ok({ seeded: users.length });
    }),

    'users.invite': h(async (req) => {
      const { id: partnerId } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, partnerId, `partner ${partnerId}`);
      const body = parseOrThrow(InviteUserBody, req.body);
      return ok(await accounts.invite(req.principal, partnerId, body, metaFrom(req, partnerId)), 201);
    }),
    /** A platform admin invites another platform admin (no partner); the gateway lets only admin credentials here. */
    'users.invite-admin': h(async (req) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform admins invite platform admins');
      const body = parseOrThrow(EmailBody, req.body);
      return ok(await accounts.inviteAdmin(req.principal, body.email, metaFrom(req, undefined)), 201);
    }),
    'users.list-admins': h(async (req) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform admins list platform admins');
      const page = await listPartnerUsers(deps.db, { partner_id: null, ...parseOrThrow(PageQuerySchema, req.query ?? {}) });
      return ok({ data: page.data.map(toPartnerUser), has_more: page.has_more });
    }),
    'users.list': h(async (req) => {
      const { id: partnerId } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, partnerId, `partner ${partnerId}`);
      const page = await listPartnerUsers(deps.db, { partner_id: partnerId, ...parseOrThrow(PageQuerySchema, req.query ?? {}) });
      return ok({ data: page.data.map(toPartnerUser), has_more: page.has_more });
    }),
    'users.change-role': h(async (req) => {
      const user = await visibleUser(req);
      const { role } = parseOrThrow(ChangeRoleBody, req.body);
      return ok(await accounts.changeRole(req.principal, user, role, metaFrom(req, user.partner_id ?? undefined)));
    }),
    'users.remove': h(async (req) => {
      const user = await visibleUser(req);
      return ok(await accounts.remove(req.principal, user, metaFrom(req, user.partner_id ?? undefined)));
    }),
  };
}
