import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';

/** Prefix of Standard Webhooks secrets: `whsec_` followed by the base64 key bytes. */
export const SECRET_PREFIX = 'whsec_';

export class WebhookVerificationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookVerificationError';
  }
}

export class InvalidSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSecretError';
  }
}

/** A fresh `whsec_` secret holding `bytes` random bytes (24..64, default 32). */
export function generateSecret(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 24 || bytes > 64) throw new InvalidSecretError('secret length must be 24..64 bytes');
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

/** The key bytes of a `whsec_` secret (the prefix is optional, as in the Standard Webhooks libraries). */
export function secretKey(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new InvalidSecretError('secret is not base64');
  const key = Buffer.from(b64, 'base64');
  if (key.length < 16) throw new InvalidSecretError('secret is shorter than 16 bytes');
  return key;
}

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export type Timestamp = Date | number;

/** Unix seconds of a Date, or of a number that already is unix seconds. */
function unixSeconds(ts: Timestamp): number {
  return ts instanceof Date ? Math.floor(ts.getTime() / 1000) : Math.floor(ts);
}

// Signing keys prepared once per secret: turning raw bytes into a key on every signature was the largest
// share of signing's CPU. Bounded, so rotated-away secrets do not pile up.
const preparedKeys = new Map<string, KeyObject>();
function preparedKey(secret: string): KeyObject {
  let k = preparedKeys.get(secret);
  if (!k) {
    k = createSecretKey(secretKey(secret));
    if (preparedKeys.size >= 1000) preparedKeys.delete(preparedKeys.keys().next().value as string);
    preparedKeys.set(secret, k);
  }
  return k;
}

function hmac(key: Buffer | KeyObject, id: string, timestamp: number, body: string | Buffer): Buffer {
  const h = createHmac('sha256', key);
  h.update(`${id}.${timestamp}.`);
  h.update(body);
  return h.digest();
}

/** One `v1,<base64>` signature of `{id}.{timestamp}.{body}`. */
export function signature(secret: string, id: string, timestamp: Timestamp, body: string | Buffer): string {
  return `v1,${hmac(preparedKey(secret), id, unixSeconds(timestamp), body).toString('base64')}`;
}

/**
 * The three Standard Webhooks headers for one message. With several valid secrets (during a rotation) the
 * signature header holds one `v1,` signature per secret, space-separated, so a receiver holding either key
 * verifies it.
 */
export function signWebhook(input: {
  id: string;
  timestamp: Timestamp;
  body: string | Buffer;
  secrets: readonly string[];
}): WebhookHeaders {
  if (input.secrets.length === 0) throw new InvalidSecretError('at least one secret is needed to sign');
  if (!input.id || /[\s.]/.test(input.id)) throw new InvalidSecretError('webhook id must be non-empty without spaces or dots');
  const ts = unixSeconds(input.timestamp);
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(ts),
    'webhook-signature': input.secrets.map((s) => signature(s, input.id, ts, input.body)).join(' '),
  };
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const direct = headers[name] ?? headers[name.toLowerCase()];
  const v = direct ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Verifies a received webhook against one or more secrets in constant time per candidate signature.
 * Throws WebhookVerificationError when headers are missing, the timestamp is outside `toleranceSec`
 * (default 5 minutes) of `now`, or no `v1` signature matches any secret.
 */
export function verifyWebhook(input: {
  headers: Record<string, string | string[] | undefined>;
  body: string | Buffer;
  secrets: readonly string[];
  toleranceSec?: number;
  now?: Date;
}): { id: string; timestamp: number } {
  const id = header(input.headers, 'webhook-id');
  const tsRaw = header(input.headers, 'webhook-timestamp');
  const sigs = header(input.headers, 'webhook-signature');
  if (!id || !tsRaw || !sigs) throw new WebhookVerificationError('missing required webhook headers');
  if (!/^\d+$/.test(tsRaw)) throw new WebhookVerificationError('invalid webhook-timestamp');
  const ts = Number(tsRaw);
  const now = Math.floor((input.now ?? new Date()).getTime() / 1000);
  const tolerance = input.toleranceSec ?? 300;
  if (Math.abs(now - ts) > tolerance) throw new WebhookVerificationError('webhook-timestamp outside tolerance');
  const candidates = sigs
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  let ok = false;
  for (const secret of input.secrets) {
    const expected = hmac(preparedKey(secret), id, ts, input.body);
    for (const c of candidates) {
      // Compare every candidate (no early exit) so timing does not reveal which one matched.
      if (c.length === expected.length && timingSafeEqual(c, expected)) ok = true;
    }
  }
  if (!ok) throw new WebhookVerificationError('no matching signature');
  return { id, timestamp: ts };
}
