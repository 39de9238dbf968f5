import { createHash } from 'node:crypto';
import type { Partner, PartnerUser, Principal, RpcRequest } from '@pep/contracts';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';

const names = testNames('accounts');
let reg: Registry;
let smtp: TestSmtpServer;
let partner: Partner;
let other: Partner;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const tokenIn = (text: string) => {
  const m = /#token=([^\s"<]+)/.exec(text);
  if (!m?.[1]) throw new Error(`no token link in: ${text}`);
  return decodeURIComponent(m[1]);
};
interface Started {
  user: PartnerUser;
  session: { id: string };
  scopes: string[];
  session_secret: string;
}

/** Calls a handler as the gateway would, with a client address (throttling) when given. */
async function call(
  pattern: string,
  principal: Principal,
  body: unknown,
  clientAddress = '192.0.2.1',
  params: Record<string, string> = {},
) {
  const fn = reg.handlers[pattern];
  if (!fn) throw new Error(`no handler ${pattern}`);
  const req: RpcRequest = { principal, params, query: {}, body, request_id: `req_${Math.random()}`, client_address: clientAddress };
  return fn(req);
}
const anon: Principal = { kind: 'anonymous', scopes: [], credential_id: 'anonymous' };
const principalOf = async (secret: string) => {
  const r = await call('auth.authenticate-session', admin, { session_hash: sha(secret) });
  if (!r.ok) throw new Error(JSON.stringify(r.problem));
  return (r.body as { principal: Principal }).principal;
};

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  reg = await startRegistry(names, {
    SMTP_URL: smtp.url,
    PORTAL_URL: 'http://127.0.0.1:9/portal',
    SIGN_IN_MAX_FAILURES_PER_ACCOUNT: '3',
    SIGN_IN_MAX_FAILURES_PER_ADDRESS: '6',
  });
  const p = await reg.ok<Partner>('partners.create', admin, {
    body: { name: 'Acme Portal', type: 'technology', contact_email: 'ops@acme.test' },
  });
  partner = await reg.ok<Partner>('partners.activate', admin, { params: { id: p.id } });
  other = await reg.ok<Partner>('partners.create', admin, { body: { name: 'Other', type: 'technology', contact_email: 'ops@other.test' } });
}, 60_000);
afterAll(async () => {
  await reg?.stop();
  await smtp?.close();
});

describe('partner user accounts', () => {
  let ownerSecret = '';

  it('invites by email; the emailed link sets the password and signs in', async () => {
    const invitedUser = await reg.ok<PartnerUser>('users.invite', admin, {
      params: { id: partner.id },
      body: { email: 'Owner@Acme.test', role: 'owner' },
    });
    expect(invitedUser).toMatchObject({ status: 'invited', email: 'owner@acme.test', role: 'owner', partner_id: partner.id });
    const mail = await smtp.waitFor((m) => m.to.includes('owner@acme.test'));
    expect(mail.subject).toContain('Acme Portal');
    const token = tokenIn(mail.text);
    expect(mail.text).toContain('http://127.0.0.1:9/portal/accept-invitation#token=');
    const short = await call('auth.accept-invitation', anon, { token, password: 'short' });
    expect(statusOf(short)).toBe(422);
    const accepted = await call('auth.accept-invitation', anon, { token, password: 'correct horse battery', name: 'Olga' });
    expect(accepted.ok).toBe(true);
    const s = (accepted as { body: Started }).body;
    expect(s.user).toMatchObject({ status: 'active', email_verified: true, name: 'Olga' });
    expect(s.session_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    ownerSecret = s.session_secret;
    expect(statusOf(await call('auth.accept-invitation', anon, { token, password: 'correct horse battery' }))).toBe(401);
  });

  it('keeps only hashes: no secret in the stream or the read model', async () => {
    const rows = await reg.db.selectFrom('partner_users').select('state').execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(ownerSecret);
    expect(stored).toContain(sha(ownerSecret));
    expect(stored).not.toContain('correct horse battery');
    expect(stored).toMatch(/\$scrypt\$ln=14,r=8,p=5\$/);
  });

  it('a session is a principal with the role scopes and the partner', async () => {
    const p = await principalOf(ownerSecret);
    expect(p).toMatchObject({ kind: 'partner', partner_id: partner.id, scopes: ['admin', 'manage:account'] });
    expect(p.credential_id).toMatch(/^ses_/);
    expect(statusOf(await call('auth.authenticate-session', admin, { session_hash: sha('nope') }))).toBe(401);
    expect(statusOf(await call('auth.authenticate-session', partnerPrincipal(partner.id), { session_hash: sha(ownerSecret) }))).toBe(403);
  });

  it('signs in with email and password; one answer for a wrong password and an unknown address', async () => {
    const good = await call('auth.sign-in', anon, { email: 'owner@acme.test', password: 'correct horse battery' }, '192.0.2.10');
    expect(good.ok).toBe(true);
    const wrong = await call('auth.sign-in', anon, { email: 'owner@acme.test', password: 'wrong password!!' }, '192.0.2.10');
    const unknown = await call('auth.sign-in', anon, { email: 'nobody@acme.test', password: 'wrong password!!' }, '192.0.2.10');
    expect(statusOf(wrong)).toBe(401);
    expect(statusOf(unknown)).toBe(401);
    expect(!wrong.ok && !unknown.ok && wrong.problem.detail === unknown.problem.detail).toBe(true);
  });

  it('throttles failed sign-ins per account (even the right password waits) and per client address', async () => {
    await reg.ok('users.invite', admin, { params: { id: partner.id }, body: { email: 'dev@acme.test', role: 'developer' } });
    const token = tokenIn((await smtp.waitFor((m) => m.to.includes('dev@acme.test'))).text);
    expect((await call('auth.accept-invitation', anon, { token, password: 'developer password' })).ok).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(statusOf(await call('auth.sign-in', anon, { email: 'dev@acme.test', password: `bad guess ${i}` }, `198.51.100.${i}`))).toBe(
        401,
      );
    }
    const locked = await call('auth.sign-in', anon, { email: 'dev@acme.test', password: 'developer password' }, '198.51.100.50');
    expect(statusOf(locked)).toBe(429);
    expect(!locked.ok && Number(locked.problem.retry_after)).toBeGreaterThan(0);
    // Per address: one address spraying many accounts is stopped too.
    for (let i = 0; i < 6; i++) {
      expect(statusOf(await call('auth.sign-in', anon, { email: `spray${i}@acme.test`, password: 'guess guess' }, '203.0.113.7'))).toBe(
        401,
      );
    }
    expect(statusOf(await call('auth.sign-in', anon, { email: 'owner@acme.test', password: 'correct horse battery' }, '203.0.113.7'))).toBe(
      429,
    );
  });

  it('team: only an owner makes an owner; a member of another partner sees nothing of this one', async () => {
    const devToken = await call('auth.sign-in', anon, { email: 'owner@acme.test', password: 'correct horse battery' }, '192.0.2.20');
    expect(devToken.ok).toBe(true);
    const owner = await principalOf(ownerSecret);
    const list = await call('users.list', owner, undefined, undefined, { id: partner.id });
    expect(list.ok && (list.body as { data: PartnerUser[] }).data.map((u) => u.email).sort()).toEqual(['dev@acme.test', 'owner@acme.test']);
    const outsider: Principal = { kind: 'partner', partner_id: other.id, scopes: ['admin'], credential_id: 'ses_x', user_id: 'usr_x' };
    expect(statusOf(await call('users.list', outsider, undefined, undefined, { id: partner.id }))).toBe(404);
    const dev = list.ok ? (list.body as { data: PartnerUser[] }).data.find((u) => u.email === 'dev@acme.test') : undefined;
    expect(statusOf(await call('users.change-role', outsider, { role: 'admin' }, undefined, { id: dev?.id ?? '' }))).toBe(404);
    // An admin (not owner) cannot make an owner.
    const asAdmin: Principal = { kind: 'partner', partner_id: partner.id, scopes: ['manage:*'], credential_id: 'key_1' };
    expect(statusOf(await call('users.change-role', asAdmin, { role: 'owner' }, undefined, { id: dev?.id ?? '' }))).toBe(403);
    const changed = await call('users.change-role', owner, { role: 'billing' }, undefined, { id: dev?.id ?? '' });
    expect(changed.ok && (changed.body as PartnerUser).role).toBe('billing');
  });

  it('password reset by emailed link ends every session', async () => {
    const before = await call('auth.list-sessions', await principalOf(ownerSecret), undefined);
    expect(before.ok && (before.body as { data: unknown[] }).data.length).toBeGreaterThanOrEqual(2);
    expect((await call('auth.password-reset', anon, { email: 'owner@acme.test' })).ok).toBe(true);
    const unknown = await call('auth.password-reset', anon, { email: 'nobody@acme.test' });
    expect(unknown.ok && unknown.body).toMatchObject({ accepted: true });
    const mail = await smtp.waitFor((m) => m.to.includes('owner@acme.test') && m.subject.includes('Reset'));
    const token = tokenIn(mail.text);
    expect((await call('auth.complete-password-reset', anon, { token, password: 'a new long password' })).ok).toBe(true);
    expect(statusOf(await call('auth.authenticate-session', admin, { session_hash: sha(ownerSecret) }))).toBe(401);
    const again = await call('auth.sign-in', anon, { email: 'owner@acme.test', password: 'a new long password' }, '192.0.2.30');
    expect(again.ok).toBe(true);
    ownerSecret = (again as { body: Started }).body.session_secret;
  });

  it('signs in with a one-time emailed link, once', async () => {
    expect((await call('auth.sign-in-link', anon, { email: 'owner@acme.test' })).ok).toBe(true);
    const mail = await smtp.waitFor((m) => m.to.includes('owner@acme.test') && m.subject.includes('sign-in link'));
    const token = tokenIn(mail.text);
    const first = await call('auth.redeem-sign-in-link', anon, { token });
    expect(first.ok).toBe(true);
    expect(statusOf(await call('auth.redeem-sign-in-link', anon, { token }))).toBe(401);
  });

  it('signs out one session, then everywhere', async () => {
    const owner = await principalOf(ownerSecret);
    const out = await call('auth.sign-out', owner, undefined);
    expect(out.ok && out.body).toEqual({ ended: 1 });
    expect(statusOf(await call('auth.authenticate-session', admin, { session_hash: sha(ownerSecret) }))).toBe(401);
    const s1 = await call('auth.sign-in', anon, { email: 'owner@acme.test', password: 'a new long password' }, '192.0.2.40');
    const s2 = await call('auth.sign-in', anon, { email: 'owner@acme.test', password: 'a new long password' }, '192.0.2.41');
    const p1 = await principalOf((s1 as { body: Started }).body.session_secret);
    const all = await call('auth.sign-out-everywhere', p1, undefined);
    expect(all.ok && (all.body as { ended: number }).ended).toBeGreaterThanOrEqual(2);
    expect(
      statusOf(await call('auth.authenticate-session', admin, { session_hash: sha((s2 as { body: Started }).body.session_secret) })),
    ).toBe(401);
  });
});
