import { type PartnerRole, type Principal, scopesForRole, type SignedIn } from '@pep/contracts';
import type { CommandMeta } from '@pep/events';
import type { Mailer } from '@pep/mailer';
import { ForbiddenError, type Logger, NotFoundError, newId, UnauthorizedError, UnavailableError } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { RegistryDB } from '../db/schema.ts';
import { type Actor, decidePartnerUser, INVALID_SIGN_IN, type NewSession, type PartnerUserCommand } from '../domain/partner-user/decide.ts';
import { isSessionLive, type PartnerUserState, toPartnerUser, toSession, userIdFor } from '../domain/partner-user/partner-user.ts';
import { findPartner } from '../projections/partners/index.ts';
import { countOtherOwners, findSessionByHash } from '../projections/partner-users/index.ts';
import type { AccountsConfig } from './accounts-config.ts';
import { invitationEmail, passwordResetEmail, signInLinkEmail, verifyEmailEmail } from './account-emails.ts';
import {
  decoyPasswordHash,
  hashPassword,
  mintOneTimeToken,
  mintSessionSecret,
  readOneTimeToken,
  verifyPassword,
} from './account-secrets.ts';
import type { CommandBus } from './command-bus.ts';
import { partnerUserAggregate } from '../domain/partner-user/aggregate.ts';
import { createSignInThrottle } from './sign-in-throttle.ts';

const SIGN_IN_LINK_MINUTES = 15;
const PASSWORD_RESET_MINUTES = 30;
const VERIFICATION_HOURS = 24;
/** A session's last use is recorded at most this often (its idle expiry is accurate to this). */
export const TOUCH_GRANULARITY_MS = 60_000;
const ACCEPTED = { accepted: true as const, detail: 'if the address has an account, an email is on its way' };

export interface AccountsDeps {
  commands: CommandBus;
  db: Kysely<RegistryDB>;
  config: AccountsConfig;
  logger: Logger;
  now: () => Date;
  /** Absent when SMTP is off (development): links are not sent, a warning is logged. */
  mailer?: Mailer | undefined;
}

/** What the client of a sign-in request is (for the session list and the per-address throttle). */
export interface Client {
  address: string | undefined;
  userAgent: string | undefined;
}

/** A new session as the handler answers it: the secret goes to the gateway (cookie), never into storage. */
export interface StartedSession extends Omit<SignedIn, 'csrf_token'> {
  session_secret: string;
}

/** Portal user accounts: invitations, sign-in (password or emailed link), resets, verification and sessions. */
export function createAccounts(deps: AccountsDeps) {
  const { commands, db, config, logger, now } = deps;
  const idleMs = config.SESSION_IDLE_MINUTES * 60_000;
  const throttle = createSignInThrottle(db, {
    perAccount: config.SIGN_IN_MAX_FAILURES_PER_ACCOUNT,
    perAddress: config.SIGN_IN_MAX_FAILURES_PER_ADDRESS,
    windowMs: config.SIGN_IN_FAILURE_WINDOW_MINUTES * 60_000,
  });
  const link = (page: string, token: string) => `${config.PORTAL_URL.replace(/\/$/, '')}/${page}#token=${encodeURIComponent(token)}`;
  const later = (ms: number) => new Date(now().getTime() + ms).toISOString();

  const run = async (userId: string, meta: CommandMeta, command: PartnerUserCommand) =>
    commands.execute(partnerUserAggregate, userId, meta, (s) => decidePartnerUser(command, s));
  const load = async (userId: string) => (await commands.load(partnerUserAggregate, userId)).state;

  /**
   * Sends an account email. With SMTP off (development) nothing is sent and a warning says so: the token is
   * recorded and a later request issues a new one. A send that fails is the operator's to see; `rethrow` (the
   * inviter is waiting for it) answers 503 so the inviter retries, which issues a fresh link; anonymous requests
   * answer the same either way (no account enumeration).
   */
  async function send(to: string, mail: { subject: string; text: string; html: string }, rethrow: boolean): Promise<void> {
    if (!deps.mailer) {
      logger.warn('account email not sent: SMTP_URL is not set', { subject: mail.subject });
      return;
    }
    try {
      await deps.mailer.sendMail({ to, ...mail });
    } catch (err) {
      logger.error('account email failed', { subject: mail.subject, err });
      if (rethrow) throw new UnavailableError('the email could not be sent; retry (a new link is issued)', { cause: err });
    }
  }

  /**
   * Issues a one-time token of `purpose` to the account of `email` and mails its link. The answer is the same
   * whether or not the address has an account (no account enumeration); a failed send is logged, not answered.
   */
  async function emailToken(
    email: string,
    meta: CommandMeta,
    purpose: 'sign_in_link' | 'password_reset',
    minutes: number,
    render: (token: string) => { subject: string; text: string; html: string },
  ) {
    const userId = userIdFor(email);
    const token = mintOneTimeToken(userId);
    const r = await run(userId, meta, { type: 'IssueToken', purpose, token_hash: token.hash, expires_at: later(minutes * 60_000) });
    if (r.events.length > 0 && r.state) await send(r.state.email, render(token.token), false);
    return ACCEPTED;
  }

  function newSession(client: Client): { secret: string; session: NewSession } {
    const minted = mintSessionSecret();
    const id = newId('ses', now().getTime());
    return {
      secret: minted.secret,
      session: {
        session_id: id,
        session_hash: minted.hash,
        expires_at: later(config.SESSION_ABSOLUTE_HOURS * 3_600_000),
        client_address: client.address?.slice(0, 64) ?? null,
        user_agent: client.userAgent?.slice(0, 300) ?? null,
      },
    };
  }

  function started(state: PartnerUserState | undefined, secret: string, sessionId: string): StartedSession {
    const session = state?.sessions[sessionId];
    if (!state || !session) throw new UnauthorizedError(INVALID_SIGN_IN);
    return {
      user: toPartnerUser(state),
      session: toSession(session, idleMs, sessionId),
      scopes: scopesForRole(state.role),
      session_secret: secret,
    };
  }

  /**
   * The team actor a principal is: a user's role, a platform admin, or an API key (with the tenant's `admin` scope it
   * acts as an owner — that is how a partner's first owner is invited — otherwise as an admin).
   */
  async function actorOf(principal: Principal): Promise<Actor> {
    if (principal.kind === 'admin') return { role: 'platform', id: principal.user_id ?? principal.credential_id };
    if (!principal.user_id) return { role: principal.scopes.includes('admin') ? 'owner' : 'admin', id: principal.credential_id };
    const me = await load(principal.user_id);
    return { role: me?.role ?? 'developer', id: principal.user_id };
  }

  /** The signed-in user of a session principal (403 for other credentials: these routes are for people). */
  async function me(principal: Principal): Promise<PartnerUserState> {
    if (!principal.user_id) throw new ForbiddenError('this route needs a portal session (sign in), not an API key or token');
    const state = await load(principal.user_id);
    if (state?.status !== 'active') throw new UnauthorizedError('the session has ended; sign in again');
    return state;
  }

  return {
    idleMs,

    async invite(principal: Principal, partnerId: string, body: { email: string; role: PartnerRole }, meta: CommandMeta) {
      const partner = await findPartner(db, partnerId);
      if (!partner) throw new NotFoundError(`partner ${partnerId} not found`);
      const userId = userIdFor(body.email);
      const token = mintOneTimeToken(userId);
      const expiresAt = later(config.INVITATION_TTL_HOURS * 3_600_000);
      const r = await run(userId, meta, {
        type: 'InviteUser',
        data: {
          user_id: userId,
          partner_id: partnerId,
          email: body.email.trim().toLowerCase(),
          role: body.role,
          token_hash: token.hash,
          token_expires_at: expiresAt,
        },
        actor: await actorOf(principal),
      });
      if (!r.state) throw new NotFoundError(`user ${userId} not found`);
      await send(
        r.state.email,
        invitationEmail.render({
          role: body.role,
          partner: partner.name,
          link: link('accept-invitation', token.token),
          expires: expiresAt,
        }),
        true,
      );
      return toPartnerUser(r.state);
    },

    /** A platform admin invites another platform admin (no partner): the same invitation, link and acceptance. */
    async inviteAdmin(principal: Principal, email: string, meta: CommandMeta) {
      const userId = userIdFor(email);
      const token = mintOneTimeToken(userId);
      const expiresAt = later(config.INVITATION_TTL_HOURS * 3_600_000);
      const r = await run(userId, meta, {
        type: 'InviteUser',
        data: {
          user_id: userId,
          partner_id: null,
          email: email.trim().toLowerCase(),
          role: 'platform_admin',
          token_hash: token.hash,
          token_expires_at: expiresAt,
        },
        actor: await actorOf(principal),
      });
      if (!r.state) throw new NotFoundError(`user ${userId} not found`);
      await send(
        r.state.email,
        invitationEmail.render({
          role: 'platform admin',
          partner: 'Partner Platform',
          link: link('accept-invitation', token.token),
          expires: expiresAt,
        }),
        true,
      );
      return toPartnerUser(r.state);
    },

    async changeRole(principal: Principal, user: PartnerUserState, role: PartnerRole, meta: CommandMeta) {
      const others = user.partner_id ? await countOtherOwners(db, user.partner_id, user.id) : 0;
      const r = await run(user.id, meta, { type: 'ChangeRole', role, actor: await actorOf(principal), other_owners: others });
      return toPartnerUser(r.state ?? user);
    },

    async remove(principal: Principal, user: PartnerUserState, meta: CommandMeta) {
      const others = user.partner_id ? await countOtherOwners(db, user.partner_id, user.id) : 0;
      const r = await run(user.id, meta, { type: 'RemoveUser', actor: await actorOf(principal), other_owners: others });
      return toPartnerUser(r.state ?? user);
    },

    async acceptInvitation(body: { token: string; password: string; name?: string | undefined }, client: Client, meta: CommandMeta) {
      const { userId, hash } = readOneTimeToken(body.token);
      const passwordHash = await hashPassword(body.password);
      const { secret, session } = newSession(client);
      const r = await run(userId, meta, {
        type: 'AcceptInvitation',
        token_hash: hash,
        password_hash: passwordHash,
        name: body.name ?? null,
        session,
        now: now(),
      });
      return started(r.state, secret, session.session_id);
    },

    async signIn(body: { email: string; password: string }, client: Client, meta: CommandMeta) {
      const userId = userIdFor(body.email);
      await throttle.check(userId, client.address, now());
      const state = await load(userId);
      const stored = state?.status === 'active' ? state.password_hash : null;
      const passwordOk = (await verifyPassword(body.password, stored ?? (await decoyPasswordHash()))) && stored !== null;
      if (!passwordOk) {
        await throttle.recordFailure(userId, client.address, now());
        throw new UnauthorizedError(INVALID_SIGN_IN);
      }
      const { secret, session } = newSession(client);
      const r = await run(userId, meta, { type: 'SignInWithPassword', password_ok: passwordOk, session });
      await throttle.clearAccount(userId);
      return started(r.state, secret, session.session_id);
    },

    async requestSignInLink(email: string, meta: CommandMeta) {
      return emailToken(email, meta, 'sign_in_link', SIGN_IN_LINK_MINUTES, (token) =>
        signInLinkEmail.render({ link: link('sign-in-link', token), minutes: SIGN_IN_LINK_MINUTES }),
      );
    },

    async redeemSignInLink(tokenText: string, client: Client, meta: CommandMeta) {
      const { userId, hash } = readOneTimeToken(tokenText);
      const { secret, session } = newSession(client);
      const r = await run(userId, meta, { type: 'RedeemSignInLink', token_hash: hash, session, now: now() });
      return started(r.state, secret, session.session_id);
    },

    async requestPasswordReset(email: string, meta: CommandMeta) {
      return emailToken(email, meta, 'password_reset', PASSWORD_RESET_MINUTES, (token) =>
        passwordResetEmail.render({ link: link('reset-password', token), minutes: PASSWORD_RESET_MINUTES }),
      );
    },

    async completePasswordReset(body: { token: string; password: string }, meta: CommandMeta) {
      const { userId, hash } = readOneTimeToken(body.token);
      const passwordHash = await hashPassword(body.password);
      const r = await run(userId, meta, { type: 'CompletePasswordReset', token_hash: hash, password_hash: passwordHash, now: now() });
      if (!r.state) throw new UnauthorizedError(INVALID_SIGN_IN);
      await throttle.clearAccount(userId);
      return toPartnerUser(r.state);
    },

    async requestEmailVerification(principal: Principal, meta: CommandMeta) {
      const user = await me(principal);
      const token = mintOneTimeToken(user.id);
      const r = await run(user.id, meta, {
        type: 'IssueToken',
        purpose: 'email_verification',
        token_hash: token.hash,
        expires_at: later(VERIFICATION_HOURS * 3_600_000),
      });
      if (r.events.length > 0) await send(user.email, verifyEmailEmail.render({ link: link('verify-email', token.token) }), true);
      return ACCEPTED;
    },

    async confirmEmail(tokenText: string, meta: CommandMeta) {
      const { userId, hash } = readOneTimeToken(tokenText);
      const r = await run(userId, meta, { type: 'ConfirmEmail', token_hash: hash, now: now() });
      if (!r.state) throw new UnauthorizedError(INVALID_SIGN_IN);
      return toPartnerUser(r.state);
    },

    /** The principal of a presented session (by its secret's hash), touching it at most once a minute. */
    async authenticateSession(sessionHash: string, meta: CommandMeta): Promise<{ principal: Principal; user: PartnerUserState }> {
      const found = await findSessionByHash(db, sessionHash);
      const state = found ? await load(found.user_id) : undefined;
      const session = found && state ? state.sessions[found.session_id] : undefined;
      const at = now();
      if (
        !found ||
        !state ||
        !session ||
        session.hash !== sessionHash ||
        state.status !== 'active' ||
        !isSessionLive(session, at, idleMs)
      ) {
        throw new UnauthorizedError('the session has ended; sign in again');
      }
      if (state.partner_id) {
        const partner = await findPartner(db, state.partner_id);
        if (!partner || partner.status === 'suspended' || partner.status === 'terminated') {
          throw new UnauthorizedError('the partner of this account is suspended or terminated');
        }
      }
      await run(state.id, meta, { type: 'TouchSession', session_id: session.id, at, granularity_ms: TOUCH_GRANULARITY_MS });
      const principal: Principal =
        state.role === 'platform_admin'
          ? { kind: 'admin', scopes: scopesForRole(state.role), credential_id: session.id, user_id: state.id }
          : {
              kind: 'partner',
              partner_id: state.partner_id ?? undefined,
              scopes: scopesForRole(state.role),
              credential_id: session.id,
              user_id: state.id,
            };
      return { principal, user: state };
    },

    async currentSession(principal: Principal) {
      const user = await me(principal);
      const session = user.sessions[principal.credential_id];
      if (!session) throw new NotFoundError('no current session');
      return { user: toPartnerUser(user), session: toSession(session, idleMs, session.id), scopes: scopesForRole(user.role) };
    },

    async listSessions(principal: Principal) {
      const user = await me(principal);
      const at = now();
      const data = Object.values(user.sessions)
        .filter((s) => isSessionLive(s, at, idleMs))
        .sort((a, b) => b.created_at.localeCompare(a.created_at))
        .map((s) => toSession(s, idleMs, principal.credential_id));
      return { data, has_more: false };
    },

    async signOut(principal: Principal, which: string[] | 'all', reason: 'sign_out' | 'everywhere' | 'revoked', meta: CommandMeta) {
      // Naming a session without being signed in: no session of yours has that id.
      if (reason === 'revoked' && !principal.user_id) throw new NotFoundError('session not found');
      const user = await me(principal);
      if (which !== 'all' && which.some((id) => !user.sessions[id])) throw new NotFoundError('session not found');
      const r = await run(user.id, meta, { type: 'SignOut', session_ids: which, reason });
      const ended = r.events.reduce((n, e) => n + ((e.data as { session_ids?: string[] }).session_ids?.length ?? 0), 0);
      return { ended };
    },

    /** Users from PORTAL_SEED_USERS (development and demo): made once, with the configured password. */
    async seedUsers(seed: AccountsConfig['PORTAL_SEED_USERS']) {
      for (const u of seed) {
        const userId = userIdFor(u.email);
        const role = u.role;
        const partnerId = role === 'platform_admin' ? null : u.partner_id;
        await run(
          userId,
          { partnerId: partnerId ?? undefined },
          {
            type: 'SeedUser',
            data: {
              user_id: userId,
              partner_id: partnerId,
              email: u.email.trim().toLowerCase(),
              role,
              password_hash: await hashPassword(u.password),
            },
          },
        );
      }
    },
  };
}
export type Accounts = ReturnType<typeof createAccounts>;
