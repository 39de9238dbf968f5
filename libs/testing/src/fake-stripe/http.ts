import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A parsed form or query value: Stripe's bracket notation (`metadata[k]=v`, `items[0][price]=p`) nested. */
export type FormValue = string | FormObject;
export interface FormObject {
  [k: string]: FormValue;
}

/** Parses `a[b][c]=v&x[0]=1` into nested objects (indexes stay object keys; `list()` reads them in order). */
export function parseForm(text: string): FormObject {
  const out: FormObject = {};
  if (!text) return out;
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    const path = rawKey.split(/\[|\]\[|\]/).filter((p, i) => p !== '' || i === 0);
    let node = out;
    for (let i = 0; i < path.length - 1; i++) {
      const k = path[i] as string;
      const next = node[k];
      if (typeof next === 'object') node = next;
      else {
        const fresh: FormObject = {};
        node[k] = fresh;
        node = fresh;
      }
    }
    node[path[path.length - 1] as string] = value;
  }
  return out;
}

/** Stripe's error object, answered with the status Stripe uses for it. */
export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: 'invalid_request_error' | 'card_error' | 'idempotency_error' | 'api_error' | 'authentication_error',
    message: string,
    readonly extra: { code?: string; param?: string; decline_code?: string; charge?: string } = {},
  ) {
    super(message);
  }
  body() {
    return { error: { type: this.type, message: this.message, ...this.extra } };
  }
}

export const missing = (param: string) =>
  new StripeApiError(400, 'invalid_request_error', `Missing required param: ${param}.`, { code: 'parameter_missing', param });
export const noSuch = (what: string, id: string, param = 'id') =>
  new StripeApiError(404, 'invalid_request_error', `No such ${what}: '${id}'`, { code: 'resource_missing', param });

/** Reads the string at `key` (absent: undefined; a nested object where a string belongs: 400). */
export function str(form: FormObject, key: string, required: true): string;
export function str(form: FormObject, key: string, required?: false): string | undefined;
export function str(form: FormObject, key: string, required = false): string | undefined {
  const v = form[key];
  if (v === undefined || v === '') {
    if (required) throw missing(key);
    return undefined;
  }
  if (typeof v !== 'string')
    throw new StripeApiError(400, 'invalid_request_error', `Invalid string: ${key}`, { code: 'parameter_invalid_string', param: key });
  return v;
}

/** A non-negative integer parameter (amounts in minor units, limits, timestamps). */
export function int(form: FormObject, key: string, required: true): number;
export function int(form: FormObject, key: string, required?: false): number | undefined;
export function int(form: FormObject, key: string, required = false): number | undefined {
  const v = required ? str(form, key, true) : str(form, key);
  if (v === undefined) return undefined;
  if (!/^\d{1,15}$/.test(v))
    throw new StripeApiError(400, 'invalid_request_error', `Invalid integer: ${v}`, { code: 'parameter_invalid_integer', param: key });
  return Number(v);
}

/** `metadata[k]=v` as Stripe keeps it: string values, at most 50 keys. */
export function metadataOf(form: FormObject): Record<string, string> {
  const m = form.metadata;
  if (m === undefined || m === '') return {};
  if (typeof m === 'string')
    throw new StripeApiError(400, 'invalid_request_error', 'Invalid object', { code: 'parameter_invalid_object', param: 'metadata' });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (typeof v !== 'string')
      throw new StripeApiError(400, 'invalid_request_error', `Invalid metadata[${k}]`, { param: `metadata[${k}]` });
    out[k] = v;
  }
  if (Object.keys(out).length > 50)
    throw new StripeApiError(400, 'invalid_request_error', 'Metadata can have at most 50 keys', { param: 'metadata' });
  return out;
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function send(res: ServerResponse, status: number, body: unknown, requestId: string) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': requestId,
    'stripe-version': '2026-10-28.endive',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** A stored idempotent answer: replayed for the same key and the same request; a different request is 400. */
export interface IdempotentAnswer {
  fingerprint: string;
  status: number;
  body: unknown;
}
export const fingerprintOf = (method: string, path: string, body: string) =>
  createHash('sha256').update(`${method} ${path}\n${body}`).digest('hex');
