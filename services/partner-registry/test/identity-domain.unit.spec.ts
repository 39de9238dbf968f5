import {
  API_KEY_PATTERN,
  apiKeyChecksum,
  hashSecret,
  mintApiKey,
  mintClientSecret,
  narrowScopes,
  type PlatformEvent,
  parseApiKey,
  scopeAllows,
  secretMatches,
} from '@pep/contracts';
import { IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import { describe, expect, it } from 'vitest';
import { type ApiKeyEvent, type ApiKeyState, evolveApiKey, toApiKey } from '../src/domain/api-key/api-key.ts';
import { type ApiKeyCommand, decideApiKey } from '../src/domain/api-key/decide.ts';
import { decideOAuthClient, type OAuthClientCommand } from '../src/domain/oauth-client/decide.ts';
import { evolveOAuthClient, type OAuthClientEvent, type OAuthClientState } from '../src/domain/oauth-client/oauth-client.ts';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const envelope = (e: { type: string; data: unknown }, time = T0.toISOString()): PlatformEvent => ({
  specversion: '1.0',
  id: `evt_${Math.random()}`,
  source: 'test',
  time,
  datacontenttype: 'application/json',
  schemaversion: 1,
  ...e,
});
const foldKey = (events: ApiKeyEvent[]) => events.reduce<ApiKeyState | undefined>((s, e) => evolveApiKey(s, envelope(e)), undefined);
const foldClient = (events: OAuthClientEvent[]) =>
  events.reduce<OAuthClientState | undefined>((s, e) => evolveOAuthClient(s, envelope(e)), undefined);

const create = (over: Partial<Extract<ApiKeyCommand, { type: 'CreateApiKey' }>> = {}): ApiKeyCommand => ({
  type: 'CreateApiKey',
  data: {
    api_key_id: 'key_1',
    partner_id: 'prt_1',
    name: 'ci',
    environment: 'live',
    prefix: 'pk_live_abcdef',
    hash: 'a'.repeat(64),
    scopes: ['read:*'],
    expires_at: null,
    rate_limit_per_minute: null,
    created_by: 'key_0',
  },
  partner_status: 'active',
  granter_scopes: 'all',
  now: T0,
  ...over,
});

describe('API key format', () => {
  it('mints pk_live_/pk_test_ keys with a checksum that a scanner can verify offline', () => {
    const live = mintApiKey('live');
    const test = mintApiKey('test');
    expect(live.key).toMatch(API_KEY_PATTERN);
    expect(live.key.startsWith('pk_live_')).toBe(true);
    expect(test.key.startsWith('pk_test_')).toBe(true);
    expect(parseApiKey(live.key)).toEqual({ environment: 'live' });
    expect(live.hash).toBe(hashSecret(live.key));
    expect(live.key.startsWith(live.prefix)).toBe(true);
    expect(mintApiKey('live').key).not.toBe(live.key);
  });

  it('refuses a key whose checksum does not match (one character changed)', () => {
    const { key } = mintApiKey('live');
    const i = 'pk_live_'.length + 3;
    const flipped = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
    expect(parseApiKey(flipped)).toBeNull();
    expect(parseApiKey('pk_live_short')).toBeNull();
    expect(parseApiKey(`sk_live_${key.slice(8)}`)).toBeNull();
    expect(apiKeyChecksum('x')).toHaveLength(6);
  });

  it('matches client secrets against their hash only', () => {
    const s = mintClientSecret();
    expect(secretMatches(s.secret, s.hash)).toBe(true);
    expect(secretMatches(`${s.secret}x`, s.hash)).toBe(false);
    expect(JSON.stringify(s.hash)).not.toContain(s.secret);
  });
});

describe('scopes', () => {
  it('nests verbs, honours wildcards, and keeps admin apart', () => {
    expect(scopeAllows(['read:*'], 'read:partners')).toBe(true);
    expect(scopeAllows(['read:*'], 'write:partners')).toBe(false);
    expect(scopeAllows(['write:partners'], 'read:partners')).toBe(true);
    expect(scopeAllows(['manage:api_keys'], 'write:api_keys')).toBe(true);
    expect(scopeAllows(['write:partners'], 'write:applications')).toBe(false);
    expect(scopeAllows(['admin'], 'manage:api_keys')).toBe(true);
    expect(scopeAllows(['manage:*'], 'admin')).toBe(false);
    expect(narrowScopes(['read:partners', 'write:partners'], ['read:*'])).toEqual(['read:partners']);
  });
});

describe('API key decider', () => {
  it('given nothing, when CreateApiKey, then api_key.created carries the hash and prefix but no key', () => {
    const events = decideApiKey(create(), undefined);
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('api_key.created');
    expect(Object.keys(events[0]?.data ?? {})).not.toContain('key');
    const state = foldKey(events);
    expect(toApiKey(state as ApiKeyState, T0).status).toBe('active');
  });

  it('refuses keys for suspended, terminated or unknown partners', () => {
    expect(() => decideApiKey(create({ partner_status: 'suspended' }), undefined)).toThrow(IllegalTransitionError);
    expect(() => decideApiKey(create({ partner_status: 'terminated' }), undefined)).toThrow(IllegalTransitionError);
    expect(() => decideApiKey(create({ partner_status: undefined }), undefined)).toThrow(NotFoundError);
  });

  it('refuses an expiry in the past and scopes beyond the caller', () => {
    const past = create();
    if (past.type === 'CreateApiKey') past.data.expires_at = '2025-12-31T00:00:00.000Z';
    expect(() => decideApiKey(past, undefined)).toThrow(ValidationError);
    const escalate = create({ granter_scopes: ['manage:api_keys', 'read:*'] });
    if (escalate.type === 'CreateApiKey') escalate.data.scopes = ['read:partners', 'admin'];
    expect(() => decideApiKey(escalate, undefined)).toThrow(/admin/);
  });

  it('rotates with an overlap window: the previous hash stays valid until now + overlap', () => {
    const created = foldKey(decideApiKey(create(), undefined));
    const rotated = decideApiKey(
      { type: 'RotateApiKey', data: { prefix: 'pk_live_zzzzzz', hash: 'b'.repeat(64), overlap_hours: 2 }, now: T0 },
      created,
    );
    expect(rotated[0]).toMatchObject({
      type: 'api_key.rotated',
      data: { previous_hash: 'a'.repeat(64), hash: 'b'.repeat(64), previous_valid_until: '2026-01-01T02:00:00.000Z' },
    });
    const state = foldKey([...decideApiKey(create(), undefined), ...rotated]) as ApiKeyState;
    expect(state.hash).toBe('b'.repeat(64));
    expect(toApiKey(state, T0).previous_secret_valid_until).toBe('2026-01-01T02:00:00.000Z');
    expect(toApiKey(state, new Date('2026-01-01T03:00:00Z')).previous_secret_valid_until).toBeNull();
  });

  it('revokes once (a second revoke is a no-op) and refuses to rotate a revoked or expired key', () => {
    const created = decideApiKey(create(), undefined);
    const revoked = decideApiKey({ type: 'RevokeApiKey', data: { reason: 'leaked' } }, foldKey(created));
    expect(revoked.map((e) => e.type)).toEqual(['api_key.revoked']);
    const state = foldKey([...created, ...revoked]);
    expect(decideApiKey({ type: 'RevokeApiKey', data: { reason: null } }, state)).toEqual([]);
    expect(() =>
      decideApiKey({ type: 'RotateApiKey', data: { prefix: 'p', hash: 'c'.repeat(64), overlap_hours: 1 }, now: T0 }, state),
    ).toThrow(IllegalTransitionError);
    const expiring = create();
    if (expiring.type === 'CreateApiKey') expiring.data.expires_at = '2026-01-02T00:00:00.000Z';
    const exp = foldKey(decideApiKey(expiring, undefined));
    expect(() =>
      decideApiKey(
        { type: 'RotateApiKey', data: { prefix: 'p', hash: 'c'.repeat(64), overlap_hours: 1 }, now: new Date('2026-01-03T00:00:00Z') },
        exp,
      ),
    ).toThrow(/expired/);
  });

  it('records usage at most once a minute per key', () => {
    const created = decideApiKey(create(), undefined);
    const first = decideApiKey({ type: 'RecordApiKeyUse', data: { used_at: '2026-01-01T00:00:10.000Z' } }, foldKey(created));
    expect(first).toHaveLength(1);
    const after = foldKey([...created, ...first]);
    expect(decideApiKey({ type: 'RecordApiKeyUse', data: { used_at: '2026-01-01T00:00:40.000Z' } }, after)).toEqual([]);
    expect(decideApiKey({ type: 'RecordApiKeyUse', data: { used_at: '2026-01-01T00:01:20.000Z' } }, after)).toHaveLength(1);
    expect(decideApiKey({ type: 'RecordApiKeyUse', data: { used_at: '2026-01-01T00:01:20.000Z' } }, undefined)).toEqual([]);
  });
});

describe('OAuth client decider', () => {
  const createClient = (over: Partial<Extract<OAuthClientCommand, { type: 'CreateOAuthClient' }>['data']> = {}): OAuthClientCommand => ({
    type: 'CreateOAuthClient',
    data: {
      client_id: 'cli_1',
      application_id: 'app_1',
      partner_id: 'prt_1',
      type: 'confidential',
      redirect_uris: ['https://app.example.com/callback'],
      scopes: ['read:*'],
      secret_hash: 'd'.repeat(64),
      created_by: 'key_1',
      ...over,
    },
    application_status: 'draft',
    granter_scopes: 'all',
  });

  it('creates a confidential client with the secret hash, and revokes it once', () => {
    const created = decideOAuthClient(createClient(), undefined);
    expect(created[0]?.data).toMatchObject({ secret_hash: 'd'.repeat(64), type: 'confidential' });
    const state = foldClient(created);
    const revoked = decideOAuthClient({ type: 'RevokeOAuthClient', data: { reason: null } }, state);
    expect(revoked.map((e) => e.type)).toEqual(['oauth_client.revoked']);
    expect(decideOAuthClient({ type: 'RevokeOAuthClient', data: { reason: null } }, foldClient([...created, ...revoked]))).toEqual([]);
  });

  it("rotates a confidential client's secret hash; a public or revoked client has none to rotate", () => {
    const created = decideOAuthClient(createClient(), undefined);
    const rotate: OAuthClientCommand = { type: 'RotateOAuthClientSecret', data: { secret_hash: 'e'.repeat(64), rotated_by: 'key_1' } };
    const rotated = decideOAuthClient(rotate, foldClient(created));
    expect(rotated.map((e) => e.type)).toEqual(['oauth_client.secret_rotated']);
    expect(foldClient([...created, ...rotated])?.secret_hash).toBe('e'.repeat(64));
    const revoked = decideOAuthClient({ type: 'RevokeOAuthClient', data: { reason: null } }, foldClient(created));
    expect(() => decideOAuthClient(rotate, foldClient([...created, ...revoked]))).toThrow(IllegalTransitionError);
    const pub = decideOAuthClient(createClient({ type: 'public', secret_hash: null }), undefined);
    expect(() => decideOAuthClient(rotate, foldClient(pub))).toThrow(IllegalTransitionError);
    expect(() => decideOAuthClient(rotate, undefined)).toThrow(NotFoundError);
  });

  it('insists on exact, https (or loopback http) redirect URIs without fragments, and one for public clients', () => {
    const bad = createClient({ redirect_uris: ['http://app.example.com/cb', 'https://x.example.com/cb#frag'] });
    try {
      decideOAuthClient(bad, undefined);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).errors.map((e) => e.path)).toEqual(['redirect_uris.0', 'redirect_uris.1']);
    }
    expect(decideOAuthClient(createClient({ redirect_uris: ['http://127.0.0.1:9999/cb'] }), undefined)).toHaveLength(1);
    expect(() => decideOAuthClient(createClient({ type: 'public', secret_hash: null, redirect_uris: [] }), undefined)).toThrow(
      ValidationError,
    );
  });

  it('refuses clients for unknown or closed applications', () => {
    expect(() => decideOAuthClient({ ...createClient(), application_status: undefined } as OAuthClientCommand, undefined)).toThrow(
      NotFoundError,
    );
    expect(() => decideOAuthClient({ ...createClient(), application_status: 'retired' } as OAuthClientCommand, undefined)).toThrow(
      IllegalTransitionError,
    );
  });
});
