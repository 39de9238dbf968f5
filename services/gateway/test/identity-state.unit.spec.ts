import { hashSecret, mintApiKey } from '@pep/contracts';
import { describe, expect, it } from 'vitest';
import { IdentityState } from '../src/identity/identity-state.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function given() {
  const s = new IdentityState();
  const key = mintApiKey('live');
  s.apply({ type: 'partner.created', data: { partner_id: 'prt_1', tier: 'premium' } });
  s.apply({
    type: 'api_key.created',
    data: {
      api_key_id: 'key_1',
      partner_id: 'prt_1',
      hash: key.hash,
      scopes: ['read:*'],
      expires_at: '2026-02-01T00:00:00Z',
      rate_limit_per_minute: null,
    },
  });
  return { s, key };
}

describe('gateway identity state', () => {
  it('authenticates a key of a pending or active partner, with its scopes and partner', () => {
    const { s, key } = given();
    const r = s.checkKey(key.hash, T0);
    expect(r).toMatchObject({ ok: true, principal: { kind: 'partner', partner_id: 'prt_1', scopes: ['read:*'], credential_id: 'key_1' } });
    expect(s.checkKey(hashSecret('pk_live_unknown'), T0)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('refuses the keys of a suspended or terminated partner, and accepts them again after activation', () => {
    const { s, key } = given();
    s.apply({ type: 'partner.suspended', data: { partner_id: 'prt_1', reason: 'x' } });
    expect(s.checkKey(key.hash, T0)).toEqual({ ok: false, reason: 'partner_inactive' });
    s.apply({ type: 'partner.activated', data: { partner_id: 'prt_1' } });
    expect(s.checkKey(key.hash, T0).ok).toBe(true);
    s.apply({ type: 'partner.terminated', data: { partner_id: 'prt_1', reason: 'x' } });
    expect(s.checkKey(key.hash, T0)).toEqual({ ok: false, reason: 'partner_inactive' });
  });

  it('honours the previous secret only until the end of the overlap, and forgets every secret on revocation', () => {
    const { s, key } = given();
    const next = mintApiKey('live');
    s.apply({
      type: 'api_key.rotated',
      data: {
        api_key_id: 'key_1',
        partner_id: 'prt_1',
        hash: next.hash,
        previous_hash: key.hash,
        previous_valid_until: '2026-01-01T01:00:00Z',
      },
    });
    expect(s.checkKey(next.hash, T0).ok).toBe(true);
    expect(s.checkKey(key.hash, T0).ok).toBe(true);
    expect(s.checkKey(key.hash, T0 + 2 * 3_600_000)).toEqual({ ok: false, reason: 'expired' });
    s.apply({ type: 'api_key.revoked', data: { api_key_id: 'key_1', partner_id: 'prt_1', reason: null } });
    expect(s.checkKey(next.hash, T0).ok).toBe(false);
    expect(s.checkKey(key.hash, T0).ok).toBe(false);
  });

  it('refuses an expired key and follows tier changes', () => {
    const { s, key } = given();
    expect(s.checkKey(key.hash, Date.parse('2026-02-01T00:00:00Z'))).toEqual({ ok: false, reason: 'expired' });
    s.apply({ type: 'partner.updated', data: { partner_id: 'prt_1', tier: 'enterprise' } });
    expect(s.partners.get('prt_1')?.tier).toBe('enterprise');
  });

  it('knows OAuth clients, and stops a revoked one or one whose partner is suspended', () => {
    const { s } = given();
    s.apply({
      type: 'oauth_client.created',
      data: {
        client_id: 'cli_1',
        application_id: 'app_1',
        partner_id: 'prt_1',
        type: 'public',
        redirect_uris: [],
        scopes: ['read:*'],
        secret_hash: null,
      },
    });
    expect(s.usableClient('cli_1')?.application_id).toBe('app_1');
    s.apply({ type: 'partner.suspended', data: { partner_id: 'prt_1', reason: 'x' } });
    expect(s.usableClient('cli_1')).toBeUndefined();
    s.apply({ type: 'partner.activated', data: { partner_id: 'prt_1' } });
    s.apply({ type: 'oauth_client.revoked', data: { client_id: 'cli_1', application_id: 'app_1', partner_id: 'prt_1', reason: null } });
    expect(s.usableClient('cli_1')).toBeUndefined();
    expect(s.apply({ type: 'lead.created', data: {} })).toBeNull();
  });

  it("takes a rotated client secret's new hash (the token endpoint compares against it)", () => {
    const { s } = given();
    const base = { client_id: 'cli_2', application_id: 'app_1', partner_id: 'prt_1' };
    s.apply({
      type: 'oauth_client.created',
      data: { ...base, type: 'confidential', redirect_uris: [], scopes: ['read:*'], secret_hash: 'a'.repeat(64) },
    });
    expect(s.apply({ type: 'oauth_client.secret_rotated', data: { ...base, secret_hash: 'b'.repeat(64), rotated_by: 'key_1' } })).toEqual({
      kind: 'oauth_client',
      id: 'cli_2',
    });
    expect(s.usableClient('cli_2')?.secret_hash).toBe('b'.repeat(64));
  });
});
