import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

// The keyring every service sealing secrets at rest shares (the webhook dispatcher's endpoint secrets, the rollback
// orchestrator's provider tokens and webhook secrets): keys with ids, one current, the older ones still open.

/**
 * Sealed values:
 * - `enc:v2:<key id>:<base64 iv(12) | tag(16) | ciphertext>`: sealed under the keyring key with that id;
 * - `enc:v1:<base64 …>`: sealed before keys had ids; any configured key may open it (each is tried).
 */
const V1 = 'enc:v1:';
const V2 = 'enc:v2:';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export class SecretBoxError extends Error {
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** The key id the value names (undefined for `enc:v1:` values). */
    readonly keyId?: string,
  ) {
    super(message, options);
    this.name = 'SecretBoxError';
  }
}

/**
 * Encryption keys with ids: `current` seals, every key opens what names it (and `enc:v1:` values, which name
 * none). Rotating the key is: add a new key, make it current, re-seal what the old one sealed, drop the old one.
 */
export interface Keyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
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

/** The id a single legacy key (`WEBHOOK_SECRET_KEY` alone) gets in a keyring. */
export const DEFAULT_KEY_ID = 'default';

/**
 * Builds a keyring from config. `keys` is `id:key,id:key` (keys as 64 hex chars or base64 of 32 bytes); `current`
 * names the sealing key (default: the first listed). `legacy` (a single key without id) joins as `default`,
 * and is current when `keys` is empty. Throws SecretBoxError naming what is wrong.
 */
export function parseKeyring(opts: { keys?: string | undefined; current?: string | undefined; legacy?: string | undefined }): Keyring {
  const keys = new Map<string, Buffer>();
  const order: string[] = [];
  for (const entry of (opts.keys ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const i = entry.indexOf(':');
    const id = i > 0 ? entry.slice(0, i) : '';
    if (!KEY_ID.test(id)) throw new SecretBoxError(`key entry "${entry.slice(0, 8)}…" needs an id: <id>:<key>, id of [A-Za-z0-9_-]{1,32}`);
    if (keys.has(id)) throw new SecretBoxError(`key id ${id} is listed twice`);
    keys.set(id, parseEncryptionKey(entry.slice(i + 1)));
    order.push(id);
  }
  if (opts.legacy) {
    const legacy = parseEncryptionKey(opts.legacy);
    if (!keys.has(DEFAULT_KEY_ID) && ![...keys.values()].some((k) => k.equals(legacy))) {
      keys.set(DEFAULT_KEY_ID, legacy);
      order.push(DEFAULT_KEY_ID);
    }
  }
  const current = opts.current ?? order[0];
  if (!current) throw new SecretBoxError('no encryption key configured');
  if (!keys.has(current)) throw new SecretBoxError(`the current key id ${current} is not among the configured keys (${order.join(', ')})`);
  return { current, keys };
}

/** A keyring of one key (what a bare Buffer or string key means). */
export function singleKeyring(key: Buffer | string, id = DEFAULT_KEY_ID): Keyring {
  return { current: id, keys: new Map([[id, typeof key === 'string' ? parseEncryptionKey(key) : key]]) };
}

function isKeyring(k: Buffer | string | Keyring): k is Keyring {
  return typeof k === 'object' && !Buffer.isBuffer(k) && 'current' in k;
}

function seal(plaintext: string, k: Buffer, aad: string | undefined): string {
  if (k.length !== 32) throw new SecretBoxError('encryption key must be 32 bytes');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', k, iv);
  if (aad) cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64');
}

function open(raw: Buffer, k: Buffer, aad: string | undefined): string {
  const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  if (aad) decipher.setAAD(Buffer.from(aad, 'utf8'));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/**
 * AES-256-GCM encryption of a secret for storage at rest; `aad` binds it to its owner (e.g. the endpoint id).
 * With a keyring the value names the current key (`enc:v2:<id>:`); with a bare key it is an `enc:v1:` value.
 */
export function encryptSecret(plaintext: string, key: Buffer | string | Keyring, aad?: string): string {
  if (isKeyring(key)) {
    const k = key.keys.get(key.current);
    if (!k) throw new SecretBoxError(`the current key ${key.current} is not in the keyring`);
    return `${V2}${key.current}:${seal(plaintext, k, aad)}`;
  }
  return V1 + seal(plaintext, typeof key === 'string' ? parseEncryptionKey(key) : key, aad);
}

/** The key id a sealed value names (`undefined` for `enc:v1:` values, which name none). */
export function sealedKeyId(sealed: string): string | undefined {
  if (!sealed.startsWith(V2)) return undefined;
  const rest = sealed.slice(V2.length);
  const i = rest.indexOf(':');
  return i > 0 ? rest.slice(0, i) : undefined;
}

/**
 * Reverses `encryptSecret`; throws SecretBoxError when the value was tampered with, its key is not configured,
 * or the key/aad differ. A bare key opens any value (whatever id it names), a keyring the key the value names.
 */
export function decryptSecret(sealed: string, key: Buffer | string | Keyring, aad?: string): string {
  let keyId: string | undefined;
  let body: string;
  if (sealed.startsWith(V2)) {
    keyId = sealedKeyId(sealed);
    if (!keyId) throw new SecretBoxError('sealed secret names no key');
    body = sealed.slice(V2.length + keyId.length + 1);
  } else if (sealed.startsWith(V1)) {
    body = sealed.slice(V1.length);
  } else {
    throw new SecretBoxError('not a sealed secret');
  }
  const raw = Buffer.from(body, 'base64');
  if (raw.length < 28) throw new SecretBoxError('sealed secret is truncated', undefined, keyId);
  let candidates: Buffer[];
  if (!isKeyring(key)) candidates = [typeof key === 'string' ? parseEncryptionKey(key) : key];
  else if (keyId === undefined) candidates = [...key.keys.values()];
  else {
    const k = key.keys.get(keyId);
    if (!k) throw new SecretBoxError(`sealed secret cannot be decrypted: key ${keyId} is not configured`, undefined, keyId);
    candidates = [k];
  }
  let last: unknown;
  for (const k of candidates) {
    try {
      return open(raw, k, aad);
    } catch (err) {
      last = err;
    }
  }
  throw new SecretBoxError(
    `sealed secret cannot be decrypted (wrong key or tampered${keyId ? `; key ${keyId}` : '; no configured key opens it'})`,
    { cause: last },
    keyId,
  );
}

/** True when the value is not sealed under the keyring's current key (re-sealing would move it there). */
export function needsReseal(sealed: string, keyring: Keyring): boolean {
  return sealedKeyId(sealed) !== keyring.current;
}
