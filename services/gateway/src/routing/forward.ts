import type { RouteContract, RpcReply } from '@pep/contracts';
import { type FieldError, PROBLEM_BASE, ValidationError } from '@pep/runtime';
import type { z } from 'zod';
import { type HttpResult, jsonResult, problemResult } from '../http/http-result.ts';

export interface ValidatedInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
}

function issues(error: z.ZodError, where: 'path' | 'query' | 'body'): FieldError[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message, in: where }) as FieldError);
}

/**
 * Validates a request against its route contract: path params, query (schemas coerce strings) and body.
 * Every invalid field of the three is reported at once (422), each naming its `path` and where it is (`in`).
 */
export function validateInput(
  route: Pick<RouteContract, 'params' | 'query' | 'body' | 'raw'>,
  input: { params: unknown; query: unknown; body: unknown },
): ValidatedInput {
  const errors: FieldError[] = [];
  let params = (input.params ?? {}) as Record<string, unknown>;
  let query = (input.query ?? {}) as Record<string, unknown>;
  let body: unknown = route.raw ? input.body : undefined;
  if (route.params) {
    const r = route.params.safeParse(params);
    if (r.success) params = r.data as Record<string, unknown>;
    else errors.push(...issues(r.error, 'path'));
  }
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
    return jsonResult(reply.status, reply.body, headers);
  }
  const p = reply.problem;
  const type = /^[a-z][a-z0-9+.-]*:/i.test(p.type) ? p.type : PROBLEM_BASE + p.type;
  return problemResult({ ...p, type });
}
