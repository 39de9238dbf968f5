import { isStorableText, type RouteContract, type RpcReply, STORABLE_TEXT_MESSAGE } from '@pep/contracts';
import { type FieldError, NotFoundError, PROBLEM_BASE, ValidationError } from '@pep/runtime';
import type { z } from 'zod';
import { fileResult, type HttpResult, jsonResult, problemResult } from '../http/http-result.ts';

export interface ValidatedInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

function issues(error: z.ZodError, where: 'path' | 'query' | 'body'): FieldError[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, in: where }) as FieldError);
}

/** Paths of the strings (keys included) in a parsed JSON value that no database or UTF-8 can hold. */
export function unstorablePaths(value: unknown, at: string[] = [], out: string[] = [], depth = 0): string[] {
  if (typeof value === 'string') {
    if (!isStorableText(value)) out.push(at.join('.'));
  } else if (Array.isArray(value)) {
    if (depth < 64) for (const [i, v] of value.entries()) unstorablePaths(v, [...at, String(i)], out, depth + 1);
  } else if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value) && depth < 64) {
    for (const [k, v] of Object.entries(value)) {
      if (!isStorableText(k)) out.push([...at, k].join('.'));
      else unstorablePaths(v, [...at, k], out, depth + 1);
    }
  }
  return out;
}

/**
 * Validates a request against its route contract: path params, query (schemas coerce strings) and body.
 * A path that does not name a possible resource (a malformed id) is 404, like a well-formed unknown one.
 * Every invalid field of query and body is reported at once (422), each naming its `path` and where it is (`in`).
 * Before the schemas, and whatever they say (defence in depth), a NUL or a lone surrogate anywhere in the
 * query or a JSON body is refused: nothing downstream could store it.
 */
export function validateInput(
  route: Pick<RouteContract, 'params' | 'query' | 'body' | 'raw'>,
  input: { params: unknown; query: unknown; body: unknown },
): ValidatedInput {
  const errors: FieldError[] = [];
  let params = (input.params ?? {}) as Record<string, unknown>;
  let query = (input.query ?? {}) as Record<string, unknown>;
  let body: unknown = route.raw ? input.body : undefined;
  const badParams = unstorablePaths(params);
  const paramsResult = route.params?.safeParse(params);
  if (badParams.length > 0 || (paramsResult && !paramsResult.success)) {
    const names = badParams.length > 0 ? badParams : (paramsResult?.error?.issues ?? []).map((i) => i.path.map(String).join('.'));
    throw new NotFoundError(`no resource at this path: ${[...new Set(names)].join(', ') || 'a path parameter'} is not a valid id`);
  }
  if (paramsResult?.success) params = paramsResult.data as Record<string, unknown>;
  const unstorable = (where: 'query' | 'body', paths: string[]) =>
    errors.push(...paths.map((path) => ({ path, message: STORABLE_TEXT_MESSAGE, in: where }) as FieldError));
  unstorable('query', unstorablePaths(query));
  if (!route.raw) unstorable('body', unstorablePaths(input.body));
  if (errors.length > 0) throw new ValidationError(errors);
  if (route.query) {
    const r = route.query.safeParse(query);
    if (r.success) query = r.data as Record<string, unknown>;
    else errors.push(...issues(r.error, 'query'));
  }
  if (route.body && !route.raw) {
    const r = route.body.safeParse(input.body);
    if (r.success) body = r.data;
    else if (input.body === undefined) errors.push({ path: '', message: 'a JSON body is required', in: 'body' } as FieldError);
    else errors.push(...issues(r.error, 'body'));
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return { params, query, body };
}

/** An RpcReply as the HTTP response: the service's status, body and headers; a problem as problem+json. */
export function replyToHttp(reply: RpcReply): HttpResult {
  if (reply.ok) {
    const headers: Record<string, string> = {};
    if (reply.headers) for (const [k, v] of Object.entries(reply.headers)) headers[k.toLowerCase()] = String(v);
    if (reply.file) return fileResult(reply.status, reply.file, headers);
    return jsonResult(reply.status, reply.body, headers);
  }
  const p = reply.problem;
  const type = /^[a-z][a-z0-9+.-]*:/i.test(p.type) ? p.type : PROBLEM_BASE + p.type;
  return problemResult({ ...p, type });
}
