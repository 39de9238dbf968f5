import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Sealed values look like `enc:v1:<base64 iv(12) | tag(16) | ciphertext>`. */
const PREFIX = 'enc:v1:';

export class SecretBoxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretBoxError';
  }
}

/**
 * Parses a 256-bit encryption key from config: 64 hex characters or base64 of 32 bytes.
 * Throws naming the problem so a wrong key stops the service at start-up.
 */
export function parseEncryptionKey(value: string): Buffer {
  const v = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, 'hex') : Buffer.from(v, 'base64');
  if (key.length !== 32) throw new SecretBoxError('encryption key must be 32 bytes (64 hex chars or base64)');
  return key;
}

function keyOf(key: Buffer | string): Buffer {
  return typeof key === 'string' ? parseEncryptionKey(key) : key;
}

/** AES-256-GCM encryption of a secret for storage at rest; `aad` binds it to its owner (e.g. the endpoint id). */
export function encryptSecret(plaintext: string, key: Buffer | string, aad?: string): string {
  const k = keyOf(key);
  if (k.length !== 32) throw new SecretBoxError('encryption key must be 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k, iv);
  if (aad) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

/** Reverses `encryptSecret`; throws SecretBoxError when the value was tampered with or the key/aad differ. */
export function decryptSecret(sealed: string, key: Buffer | string, aad?: string): string {
  if (!sealed.startsWith(PREFIX)) throw new SecretBoxError('not a sealed secret');
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  if (raw.length < 28) throw new SecretBoxError('sealed secret is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(key), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    if (aad) decipher.setAAD(Buffer.from(aad, 'utf8'));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new SecretBoxError('sealed secret cannot be decrypted (wrong key or tampered)', { cause: err });
  }
}
