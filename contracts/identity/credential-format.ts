import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Credential formats shared by the partner-registry (which mints them) and the gateway (which checks them).
 *
 * An API key looks like `pk_live_` + 32 base62 random characters + 6 base62 checksum characters, in the style
 * of GitHub's tokens: the prefix names the environment and the checksum (CRC32 of the random part) lets a
 * secret scanner recognise a leaked key offline, and lets the gateway refuse a mistyped key without a lookup.
 * Only the SHA-256 of a key is ever stored or published; the key itself is shown once.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const API_KEY_ENVIRONMENTS = ['live', 'test'] as const;
export type ApiKeyEnvironment = (typeof API_KEY_ENVIRONMENTS)[number];
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
export const API_KEY_PATTERN = /^pk_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;
/** Visible part kept for display (`pk_live_Ab12Cd`): environment plus the first 6 random characters. */
const DISPLAY_RANDOM_CHARS = 6;

/** Uniform base62 characters (rejection sampling, no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

function base62Fixed(n: number, width: number): string {
  let out = '';
  let v = n >>> 0;
  for (let i = 0; i < width; i++) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

export function apiKeyChecksum(randomPart: string): string {
  return base62Fixed(crc32(randomPart), CHECKSUM_LENGTH);
}

/** SHA-256 (hex) of a credential: what events and tables hold instead of the secret. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export interface MintedApiKey {
  /** The full key: returned to the caller once, never stored. */
  key: string;
  /** Display prefix, safe to show and log. */
  prefix: string;
  hash: string;
}

export function mintApiKey(environment: ApiKeyEnvironment): MintedApiKey {
  const random = randomBase62(RANDOM_LENGTH);
  const key = `pk_${environment}_${random}${apiKeyChecksum(random)}`;
  return { key, prefix: `pk_${environment}_${random.slice(0, DISPLAY_RANDOM_CHARS)}`, hash: hashSecret(key) };
}

/** Recognises a platform API key offline: right shape and a matching checksum. */
export function parseApiKey(key: string): { environment: ApiKeyEnvironment } | null {
  const m = API_KEY_PATTERN.exec(key);
  if (!m) return null;
  if (apiKeyChecksum(m[2] as string) !== m[3]) return null;
  return { environment: m[1] as ApiKeyEnvironment };
}

/** OAuth client secrets: `pcs_` + 43 base62 characters (~256 bits); stored as SHA-256 only. */
export function mintClientSecret(): { secret: string; hash: string } {
  const secret = `pcs_${randomBase62(43)}`;
  return { secret, hash: hashSecret(secret) };
}

/** Constant-time comparison of a presented secret with a stored SHA-256. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
