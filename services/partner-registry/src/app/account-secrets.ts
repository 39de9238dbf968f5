import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Secrets of portal accounts. Passwords: scrypt with OWASP's parameters (N = 2^14, r = 8, p = 5: the same work as
 * N = 2^17, p = 1 with an eighth of the memory) and a 16-byte random salt, stored as
 * `$scrypt$ln=14,r=8,p=5$<salt>$<hash>` so the parameters can be raised later. Session secrets and one-time
 * tokens: 32 random bytes; only their SHA-256 is kept (they are high-entropy, a slow hash adds nothing).
 */
const PARAMS = { ln: 14, r: 8, p: 5 } as const;
const KEY_LENGTH = 32;
const MAXMEM = 64 * 1024 * 1024;

export class PasswordHashFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordHashFormatError';
  }
}

function derive(password: string, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N: 2 ** ln, r, p, maxmem: MAXMEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS.ln, PARAMS.r, PARAMS.p);
  return `$scrypt$ln=${PARAMS.ln},r=${PARAMS.r},p=${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

const FORMAT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** Checks a password against a stored hash in constant time (for the derived key comparison). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (!m) throw new PasswordHashFormatError('a stored password hash is not in the scrypt format');
  const [ln, r, p, salt, hash] = m.slice(1).map(String);
  const expected = Buffer.from(hash ?? '', 'base64url');
  const key = await derive(password, Buffer.from(salt ?? '', 'base64url'), Number(ln), Number(r), Number(p));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash to check against when there is no account, so an unknown email costs as long as a wrong password. */
let decoy: Promise<string> | undefined;
export const decoyPasswordHash = () => {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
};

export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/** A session secret (the cookie value) and the hash that is kept. */
export function mintSessionSecret(): { secret: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: sha256Hex(secret) };
}

/** A one-time token for an emailed link: `<user id>.<32 random bytes>`; the user id finds the account. */
export function mintOneTimeToken(userId: string): { token: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${userId}.${secret}`, hash: sha256Hex(secret) };
}

/** The user id and secret hash of a presented one-time token (its shape was checked by the contract). */
export function readOneTimeToken(token: string): { userId: string; hash: string } {
  const dot = token.indexOf('.');
  return { userId: token.slice(0, dot), hash: sha256Hex(token.slice(dot + 1)) };
}
