import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, needsReseal, parseEncryptionKey, parseKeyring, SecretBoxError, sealedKeyId } from '../src/index.ts';

describe('secrets at rest (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('round-trips and never stores the plaintext', () => {
    const sealed = encryptSecret('whsec_abc', key, 'wep_1');
    expect(sealed.startsWith('enc:v1:')).toBe(true);
    expect(sealed).not.toContain('whsec_abc');
    expect(decryptSecret(sealed, key, 'wep_1')).toBe('whsec_abc');
    expect(encryptSecret('whsec_abc', key, 'wep_1')).not.toBe(sealed); // fresh IV every time
  });

  it('refuses a wrong key, a wrong owner (aad) and a tampered value', () => {
    const sealed = encryptSecret('whsec_abc', key, 'wep_1');
    expect(() => decryptSecret(sealed, randomBytes(32), 'wep_1')).toThrow(SecretBoxError);
    expect(() => decryptSecret(sealed, key, 'wep_2')).toThrow(SecretBoxError);
    const raw = Buffer.from(sealed.slice(7), 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => decryptSecret(`enc:v1:${raw.toString('base64')}`, key, 'wep_1')).toThrow(SecretBoxError);
    expect(() => decryptSecret('plain', key)).toThrow(/not a sealed/);
  });

  it('parses keys from config as hex or base64 of exactly 32 bytes', () => {
    expect(parseEncryptionKey(key.toString('hex')).equals(key)).toBe(true);
    expect(parseEncryptionKey(key.toString('base64')).equals(key)).toBe(true);
    expect(decryptSecret(encryptSecret('s', key.toString('hex')), key.toString('base64'))).toBe('s');
    expect(() => parseEncryptionKey('short')).toThrow(/32 bytes/);
  });
});

describe('keyring (key ids: current seals, older keys still open)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('seals under the current key id and opens with any configured key', () => {
    const old = parseKeyring({ keys: `k1:${k1.toString('hex')}` });
    const sealedOld = encryptSecret('whsec_old', old, 'wep_1');
    expect(sealedOld.startsWith('enc:v2:k1:')).toBe(true);
    expect(sealedKeyId(sealedOld)).toBe('k1');
    const rotated = parseKeyring({ keys: `k2:${k2.toString('base64')},k1:${k1.toString('hex')}` });
    expect(rotated.current).toBe('k2');
    expect(decryptSecret(sealedOld, rotated, 'wep_1')).toBe('whsec_old');
    expect(needsReseal(sealedOld, rotated)).toBe(true);
    const resealed = encryptSecret('whsec_old', rotated, 'wep_1');
    expect(sealedKeyId(resealed)).toBe('k2');
    expect(needsReseal(resealed, rotated)).toBe(false);
  });

  it('keeps enc:v1 values (sealed before key ids) readable through the legacy key', () => {
    const v1 = encryptSecret('whsec_legacy', k1, 'wep_1');
    expect(v1.startsWith('enc:v1:')).toBe(true);
    const ring = parseKeyring({ keys: `k2:${k2.toString('hex')}`, legacy: k1.toString('hex') });
    expect(ring.current).toBe('k2');
    expect(decryptSecret(v1, ring, 'wep_1')).toBe('whsec_legacy');
    expect(parseKeyring({ legacy: k1.toString('hex') }).current).toBe('default');
  });

  it('names the missing key when a value was sealed under a key no longer configured', () => {
    const sealed = encryptSecret('s', parseKeyring({ keys: `gone:${k1.toString('hex')}` }), 'wep_1');
    const ring = parseKeyring({ keys: `k2:${k2.toString('hex')}` });
    let caught: unknown;
    try {
      decryptSecret(sealed, ring, 'wep_1');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SecretBoxError);
    expect((caught as SecretBoxError).keyId).toBe('gone');
    expect((caught as Error).message).toMatch(/key gone is not configured/);
  });

  it('refuses a keyring that cannot work, naming why', () => {
    expect(() => parseKeyring({})).toThrow(/no encryption key/);
    expect(() => parseKeyring({ keys: k1.toString('hex') })).toThrow(/needs an id/);
    expect(() => parseKeyring({ keys: `a:${k1.toString('hex')}`, current: 'b' })).toThrow(/current key id b/);
    expect(() => parseKeyring({ keys: `a:${k1.toString('hex')},a:${k2.toString('hex')}` })).toThrow(/twice/);
  });
});
