import { type FieldError, PROBLEM_BASE, type Problem } from '@pep/runtime';
import type { FastifyReply } from 'fastify';

/**
 * A response as the gateway's pipeline passes it around: what a handler produced, what the idempotency store
 * keeps and replays. `body` is already serialized.
 */
export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Bytes only for file answers (PDF, CSV), which are never stored for idempotent replay. */
  body: string | Buffer | undefined;
}

export const JSON_TYPE = 'application/json; charset=utf-8';
export const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

export function jsonResult(status: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  if (body === undefined || status === 204 || status === 304) return { status, headers, body: undefined };
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

/** A service's file answer: its bytes with its content type; a filename makes it an attachment (RFC 6266). */
export function fileResult(
  status: number,
  file: { content_type: string; base64: string; filename?: string | undefined },
  headers: Record<string, string> = {},
): HttpResult {
  const out: Record<string, string> = { ...headers, 'content-type': file.content_type, 'x-content-type-options': 'nosniff' };
  if (file.filename !== undefined) {
    const ascii = file.filename.replace(/[^A-Za-z0-9._-]/g, '_');
    out['content-disposition'] = `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.filename)}`;
  }
  return { status, headers: out, body: Buffer.from(file.base64, 'base64') };
}

/** Seconds a 503 asks the client to wait when whoever produced it gave no better figure (engines recover in seconds). */
export const DEFAULT_RETRY_AFTER_S = 2;

/** A problem as the HTTP response. Every 503 carries `Retry-After` (its `retry_after`, or a default). */
export function problemResult(problem: Problem, headers: Record<string, string> = {}): HttpResult {
  const out: Record<string, string> = { 'content-type': PROBLEM_TYPE, ...headers };
  if (problem.status === 503 && !Object.keys(out).some((k) => k.toLowerCase() === 'retry-after')) {
    const given = Number(problem.retry_after);
    out['retry-after'] = String(Number.isInteger(given) && given > 0 ? given : DEFAULT_RETRY_AFTER_S);
  }
  return { status: problem.status, headers: out, body: JSON.stringify(problem) };
}

/** Builds an RFC 9457 problem with the platform's type URIs. */
export function problem(status: number, type: string, title: string, detail?: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: PROBLEM_BASE + type, title, status, ...(detail === undefined ? {} : { detail }), ...extensions };
}

export function validationProblem(errors: FieldError[], detail?: string): Problem {
  return problem(
    422,
    'validation-error',
    'The request is not valid',
    detail ?? errors.map((e) => `${e.index !== undefined ? `[${e.index}] ` : ''}${e.path || '(body)'}: ${e.message}`).join('; '),
    { errors },
  );
}

/** Every 503 carries `Retry-After` (RFC 9110 §10.2.3): a client knows it may retry, and when. */
export function sendResult(reply: FastifyReply, result: HttpResult): FastifyReply {
  reply.code(result.status).headers(result.headers);
  if (result.status === 503 && result.headers['retry-after'] === undefined && !reply.hasHeader('retry-after')) {
    reply.header('retry-after', String(DEFAULT_RETRY_AFTER_S));
  }
  return result.body === undefined ? reply.send() : reply.send(result.body);
}
