import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptSecret, encryptSecret, parseEncryptionKey, SecretBoxError } from '../src/index.ts';

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
