import { ROLE_SCOPES, scopeAllows, scopesForRole } from '@pep/contracts';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { decidePartnerUser, type NewSession, type PartnerUserCommand } from '../src/domain/partner-user/decide.ts';
import {
  evolvePartnerUser,
  isSessionLive,
  type PartnerUserEvent,
  type PartnerUserState,
  userIdFor,
} from '../src/domain/partner-user/partner-user.ts';

const T0 = '2026-12-01T10:00:00.000Z';
const USER = userIdFor('Dev@Example.test');
const PARTNER = 'prt_01jd8x6q3c9v2f5n7w0y4z1mbk';
const HASH = (c: string) => c.repeat(64);

/** given: these past events (all at T0) → the state the decider sees. */
const users = deciderSpec<PartnerUserState | undefined, PartnerUserCommand, PartnerUserEvent>({
  decide: decidePartnerUser,
  evolve: (s, e) =>
    evolvePartnerUser(s, {
      specversion: '1.0',
      id: `evt_${e.type}`,
      source: 't',
      type: e.type,
      time: T0,
      datacontenttype: 'application/json',
      schemaversion: 1,
      data: e.data,
    }),
  initialState: () => undefined,
});

const invited: PartnerUserEvent = {
  type: 'partner_user.invited',
  data: {
    user_id: USER,
    partner_id: PARTNER,
    email: 'dev@example.test',
    role: 'developer',
    invited_by: 'usr_owner',
    token_hash: HASH('a'),
    token_expires_at: '2026-12-08T10:00:00.000Z',
  },
};
const activated: PartnerUserEvent = {
  type: 'partner_user.activated',
  data: {
    user_id: USER,
    partner_id: PARTNER,
    email: 'dev@example.test',
    role: 'developer',
    name: null,
    password_hash: '$scrypt$ln=14,r=8,p=5$x$y',
    email_verified: true,
  },
};
const session = (id: string, hash = HASH('c')): NewSession => ({
  session_id: id,
  session_hash: hash,
  expires_at: '2026-12-01T18:00:00.000Z',
  client_address: '127.0.0.1',
  user_agent: null,
});
const signedIn = (id: string): PartnerUserEvent => ({
  type: 'partner_user.signed_in',
  data: { user_id: USER, partner_id: PARTNER, method: 'password', ...session(id) },
});
const now = new Date('2026-12-01T10:05:00.000Z');

describe('partner user decider', () => {
  it('derives one id per address, whatever its case', () => {
    expect(userIdFor(' DEV@example.TEST ')).toBe(USER);
    expect(USER).toMatch(/^usr_[0-9a-hjkmnp-tv-z]{26}$/);
    expect(userIdFor('other@example.test')).not.toBe(USER);
  });

  it('accepts an invitation with its token: activated (email verified) and signed in', () => {
    const events = users
      .given([invited])
      .when({
        type: 'AcceptInvitation',
        token_hash: HASH('a'),
        password_hash: '$scrypt$new',
        name: 'Dev',
        session: session('ses_1'),
        now,
      })
      .events();
    expect(events.map((e) => e.type)).toEqual(['partner_user.activated', 'partner_user.signed_in']);
    const state = users.given([invited, ...events]);
    expect(state.state).toMatchObject({ status: 'active', email_verified: true, name: 'Dev', tokens: {} });
    expect(Object.keys(state.state?.sessions ?? {})).toEqual(['ses_1']);
  });

  it('refuses a wrong or expired invitation token, and a second use', () => {
    const accept = (hash: string, at: Date): PartnerUserCommand => ({
      type: 'AcceptInvitation',
      token_hash: hash,
      password_hash: '$scrypt$x',
      name: null,
      session: session('ses_1'),
      now: at,
    });
    expect(users.given([invited]).when(accept(HASH('b'), now)).events).toThrow(/not valid or has expired/);
    expect(users.given([invited]).when(accept(HASH('a'), new Date('2026-12-09T00:00:00Z'))).events).toThrow(/not valid or has expired/);
    expect(users.given([invited, activated]).when(accept(HASH('a'), now)).events).toThrow(/not valid or has expired/);
  });

  it('signs in only an active user whose password matched, with one message for every failure', () => {
    expect(users.given().when({ type: 'SignInWithPassword', password_ok: true, session: session('ses_1') }).events).toThrow(
      'the email or password is not correct',
    );
    expect(users.given([invited]).when({ type: 'SignInWithPassword', password_ok: true, session: session('ses_1') }).events).toThrow(
      'the email or password is not correct',
    );
    expect(
      users.given([invited, activated]).when({ type: 'SignInWithPassword', password_ok: false, session: session('ses_1') }).events,
    ).toThrow('the email or password is not correct');
    expect(
      users
        .given([invited, activated])
        .when({ type: 'SignInWithPassword', password_ok: true, session: session('ses_1') })
        .events(),
    ).toHaveLength(1);
  });

  it('issues no token for an unknown or invited address (the caller answers the same)', () => {
    const issue: PartnerUserCommand = { type: 'IssueToken', purpose: 'password_reset', token_hash: HASH('d'), expires_at: T0 };
    users.given().when(issue).thenEvents([]);
    users.given([invited]).when(issue).thenEvents([]);
    expect(users.given([invited, activated]).when(issue).events()).toHaveLength(1);
  });

  it('a password reset replaces the hash and ends every session; the link works once', () => {
    const state = users.given([
      invited,
      activated,
      signedIn('ses_1'),
      signedIn('ses_2'),
      {
        type: 'partner_user.token_issued',
        data: {
          user_id: USER,
          partner_id: PARTNER,
          purpose: 'password_reset',
          token_hash: HASH('e'),
          expires_at: '2026-12-01T10:30:00.000Z',
        },
      },
    ]);
    const reset: PartnerUserCommand = { type: 'CompletePasswordReset', token_hash: HASH('e'), password_hash: '$scrypt$reset', now };
    const events = state.when(reset).events();
    expect(events.map((e) => e.type)).toEqual(['partner_user.password_changed', 'partner_user.signed_out']);
    expect(events[1]?.data).toMatchObject({ session_ids: ['ses_1', 'ses_2'], reason: 'password_reset' });
    const after = users.given([invited, activated, signedIn('ses_1'), signedIn('ses_2'), ...events]);
    expect(after.state?.sessions).toEqual({});
    expect(after.when(reset).events).toThrow(/not valid or has expired/);
  });

  it('a sign-in link signs in once and verifies the address', () => {
    const state = users.given([
      invited,
      { ...activated, data: { ...activated.data, email_verified: false } },
      {
        type: 'partner_user.token_issued',
        data: {
          user_id: USER,
          partner_id: PARTNER,
          purpose: 'sign_in_link',
          token_hash: HASH('f'),
          expires_at: '2026-12-01T10:15:00.000Z',
        },
      },
    ]);
    const redeem: PartnerUserCommand = { type: 'RedeemSignInLink', token_hash: HASH('f'), session: session('ses_9'), now };
    const events = state.when(redeem).events();
    expect(events[0]?.data).toMatchObject({ method: 'link', session_id: 'ses_9' });
    const after = users.given([
      invited,
      activated,
      {
        type: 'partner_user.token_issued',
        data: {
          user_id: USER,
          partner_id: PARTNER,
          purpose: 'sign_in_link',
          token_hash: HASH('f'),
          expires_at: '2026-12-01T10:15:00.000Z',
        },
      },
      ...events,
    ]);
    expect(after.when(redeem).events).toThrow(/not valid or has expired/);
    expect(state.when({ ...redeem, now: new Date('2026-12-01T10:16:00Z') }).events).toThrow(/not valid or has expired/);
  });

  it('keeps owners safe: only owners touch owners, and the last owner stays', () => {
    const owner = users.given([
      { ...invited, data: { ...invited.data, role: 'owner' } },
      { ...activated, data: { ...activated.data, role: 'owner' } },
    ]);
    expect(owner.when({ type: 'ChangeRole', role: 'developer', actor: { role: 'admin', id: 'usr_a' }, other_owners: 1 }).events).toThrow(
      /only an owner/,
    );
    expect(owner.when({ type: 'ChangeRole', role: 'developer', actor: { role: 'owner', id: 'usr_o' }, other_owners: 0 }).events).toThrow(
      /at least one owner/,
    );
    expect(
      owner.when({ type: 'ChangeRole', role: 'developer', actor: { role: 'owner', id: 'usr_o' }, other_owners: 1 }).events(),
    ).toHaveLength(1);
    expect(
      users.given([invited, activated]).when({ type: 'RemoveUser', actor: { role: 'admin', id: USER }, other_owners: 0 }).events,
    ).toThrow(/cannot remove yourself/);
    const removed = users
      .given([invited, activated, signedIn('ses_1')])
      .when({
        type: 'RemoveUser',
        actor: { role: 'admin', id: 'usr_a' },
        other_owners: 0,
      })
      .events();
    expect(users.given([invited, activated, signedIn('ses_1'), ...removed]).state).toMatchObject({
      status: 'removed',
      sessions: {},
      password_hash: null,
    });
  });

  it('an address already with another partner cannot be invited; a removed one can be invited again', () => {
    const inviteTo = (partner: string): PartnerUserCommand => ({
      type: 'InviteUser',
      data: {
        user_id: USER,
        partner_id: partner,
        email: 'dev@example.test',
        role: 'developer',
        token_hash: HASH('1'),
        token_expires_at: T0,
      },
      actor: { role: 'owner', id: 'usr_o' },
    });
    expect(users.given([invited]).when(inviteTo('prt_01jd8x6q3c9v2f5n7w0y4z1mbm')).events).toThrow(/another partner/);
    expect(users.given([invited, activated]).when(inviteTo(PARTNER)).events).toThrow(/already a member/);
    const removed: PartnerUserEvent = { type: 'partner_user.removed', data: { user_id: USER, partner_id: PARTNER, removed_by: 'x' } };
    expect(users.given([invited, activated, removed]).when(inviteTo('prt_01jd8x6q3c9v2f5n7w0y4z1mbm')).events()).toHaveLength(1);
  });

  it('touches a session at most once a minute; idle and absolute expiry both end it', () => {
    const state = users.given([invited, activated, signedIn('ses_1')]);
    const touch = (at: string): PartnerUserCommand => ({
      type: 'TouchSession',
      session_id: 'ses_1',
      at: new Date(at),
      granularity_ms: 60_000,
    });
    state.when(touch('2026-12-01T10:00:30.000Z')).thenEvents([]);
    expect(state.when(touch('2026-12-01T10:01:30.000Z')).events()).toHaveLength(1);
    const s = state.state?.sessions.ses_1;
    if (!s) throw new Error('no session');
    const idle = 30 * 60_000;
    expect(isSessionLive(s, new Date('2026-12-01T10:29:00Z'), idle)).toBe(true);
    expect(isSessionLive(s, new Date('2026-12-01T10:31:00Z'), idle)).toBe(false);
    expect(isSessionLive({ ...s, last_seen_at: '2026-12-01T17:59:00.000Z' }, new Date('2026-12-01T18:00:01Z'), idle)).toBe(false);
  });

  it('signs out one session or all of them', () => {
    const state = users.given([invited, activated, signedIn('ses_1'), signedIn('ses_2')]);
    expect(state.when({ type: 'SignOut', session_ids: ['ses_1'], reason: 'sign_out' }).events()[0]?.data).toMatchObject({
      session_ids: ['ses_1'],
    });
    expect(state.when({ type: 'SignOut', session_ids: 'all', reason: 'everywhere' }).events()[0]?.data).toMatchObject({
      session_ids: ['ses_1', 'ses_2'],
    });
    state.when({ type: 'SignOut', session_ids: ['ses_3'], reason: 'sign_out' }).thenEvents([]);
  });
});

describe('role → scope table', () => {
  it('a developer cannot read billing; billing cannot manage keys or endpoints; owners can do both', () => {
    expect(scopeAllows(scopesForRole('developer'), 'read:billing')).toBe(false);
    expect(scopeAllows(scopesForRole('developer'), 'manage:api_keys')).toBe(true);
    expect(scopeAllows(scopesForRole('developer'), 'write:webhooks')).toBe(true);
    expect(scopeAllows(scopesForRole('billing'), 'read:billing')).toBe(true);
    expect(scopeAllows(scopesForRole('billing'), 'manage:api_keys')).toBe(false);
    expect(scopeAllows(scopesForRole('billing'), 'write:webhooks')).toBe(false);
    expect(scopeAllows(scopesForRole('owner'), 'read:billing')).toBe(true);
    expect(scopeAllows(scopesForRole('owner'), 'manage:team')).toBe(true);
    expect(scopeAllows(scopesForRole('developer'), 'manage:team')).toBe(false);
    for (const role of Object.keys(ROLE_SCOPES) as (keyof typeof ROLE_SCOPES)[]) {
      expect(scopeAllows(scopesForRole(role), 'manage:account')).toBe(true);
    }
  });

  it('only a platform admin invites a platform admin, and only without a partner', () => {
    const inviteAdmin = (
      actor: 'platform' | 'owner',
      partner: string | null,
      role: 'platform_admin' | 'developer',
    ): PartnerUserCommand => ({
      type: 'InviteUser',
      data: { user_id: USER, partner_id: partner, email: 'ops@example.test', role, token_hash: HASH('2'), token_expires_at: T0 },
      actor: { role: actor, id: 'usr_a' },
    });
    const [event] = users
      .given()
      .when(inviteAdmin('platform', null, 'platform_admin'))
      .events();
    expect(event).toMatchObject({ type: 'partner_user.invited', data: { partner_id: null, role: 'platform_admin', invited_by: 'usr_a' } });
    expect(users.given().when(inviteAdmin('owner', null, 'platform_admin')).events).toThrow(/only a platform admin/);
    expect(users.given().when(inviteAdmin('owner', PARTNER, 'platform_admin')).events).toThrow(/only a platform admin/);
    expect(users.given().when(inviteAdmin('platform', PARTNER, 'platform_admin')).events).toThrow(/only a platform admin/);
    expect(users.given().when(inviteAdmin('platform', null, 'developer')).events).toThrow(/only a platform admin/);
  });
});
