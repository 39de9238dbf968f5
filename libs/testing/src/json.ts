/** Parsed JSON as tests read it, without `any`: a document walked with `at`, or a response body typed by its reader. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A member of parsed JSON by path, `at(doc, 'paths', '/v1/widgets', 'get')`: undefined where the path ends early
 * (a missing member, a scalar on the way), so an assertion on it fails naming what was expected.
 */
export function at(value: unknown, ...path: (string | number)[]): unknown {
  let cur = value;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

/** `at`, for a member the test then iterates or lists: its keys, or [] where it is absent. */
export function keysAt(value: unknown, ...path: (string | number)[]): string[] {
  const v = at(value, ...path);
  return v !== null && typeof v === 'object' ? Object.keys(v) : [];
}

/** `at`, for a member that is a list: the list, or [] where it is absent or not a list. */
export function listAt(value: unknown, ...path: (string | number)[]): unknown[] {
  const v = at(value, ...path);
  return Array.isArray(v) ? v : [];
}

/** The body text as JSON: undefined for an empty body or one that is not JSON (the test asserts on the text then). */
export function jsonOrUndefined(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** What a test reads of a resource it created through the API: its id and the string fields it answers (keys, secrets). */
export type Created = { id: string } & Record<string, string>;

/** A response body as the tests keep it: the parsed JSON, or the text where it is not JSON (undefined when empty). */
export function bodyOf(text: string): unknown {
  const json = jsonOrUndefined(text);
  return json === undefined && text ? text : json;
}

/** A list answer of the API (cursor pagination), as tests read it. */
export interface Page<T = Created> {
  data: T[];
  has_more?: boolean;
  next_cursor?: string | null;
}
