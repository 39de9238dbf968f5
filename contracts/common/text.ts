import { z } from 'zod';

/**
 * Text the platform can store. PostgreSQL `text` and `jsonb` cannot hold U+0000, and a lone UTF-16 surrogate has
 * no UTF-8 encoding (JSON round trips turn it into U+FFFD or fail), so a string that carries either would be
 * accepted at the edge and then lost or refused by a projection. Every string field of every contract (HTTP
 * params, query, bodies and event data) is built from these helpers, and `contracts/test/storable-text.unit.spec.ts`
 * fails for a string field that is not.
 *
 * Other control characters (U+0001–U+001F, U+007F–U+009F) are storable: free text keeps them as sent and JSON
 * escapes them on the way out. Fields with a stricter alphabet (ids, event types, cursors, header names) refuse
 * them through their own patterns.
 */
export const STORABLE_TEXT_MESSAGE = 'must not contain U+0000 (NUL) or a lone UTF-16 surrogate';

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when PostgreSQL text/jsonb and UTF-8 can hold the string as is. */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/** The check every contract string carries (the schema walker looks for this very object). */
export const storableTextCheck = z.refine<string>((s) => typeof s !== 'string' || isStorableText(s), {
  message: STORABLE_TEXT_MESSAGE,
  abort: true,
});

/** True when every string in a JSON-like value (keys included) is storable. */
export function isStorableJson(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (depth > 64 || value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every((v) => isStorableJson(v, depth + 1));
  for (const [k, v] of Object.entries(value)) if (!isStorableText(k) || !isStorableJson(v, depth + 1)) return false;
  return true;
}

export const storableJsonCheck = z.refine<unknown>((v) => isStorableJson(v), {
  message: `no string in it may contain U+0000 (NUL) or a lone UTF-16 surrogate`,
  abort: true,
});

/** A string the platform can store (see above); chain `.trim().min().max()` etc. as on `z.string()`. */
export const safeText = () => z.string().check(storableTextCheck);
/** `z.email()` that is also storable. */
export const safeEmail = (params?: Parameters<typeof z.email>[0]) => z.email(params).check(storableTextCheck);
/** `z.url()` that is also storable (`new URL()` would accept and keep a NUL in a path). */
export const safeUrl = (params?: Parameters<typeof z.url>[0]) => z.url(params).check(storableTextCheck);
/** `z.iso.datetime()` that is also storable. */
export const safeDatetime = (params?: Parameters<typeof z.iso.datetime>[0]) => z.iso.datetime(params).check(storableTextCheck);
/** `z.iso.date()` that is also storable. */
export const safeDate = (params?: Parameters<typeof z.iso.date>[0]) => z.iso.date(params).check(storableTextCheck);
/** Any JSON value whose strings are all storable (free-form objects: provider results, GitHub payloads). */
export const safeJson = () => z.unknown().check(storableJsonCheck);
