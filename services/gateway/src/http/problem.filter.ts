import { AppError, type Logger, type Problem } from '@pep/runtime';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LOGGER } from '../tokens.ts';
import { problem, problemResult, sendResult } from './http-result.ts';
import { RouteRegistry } from './route-registry.ts';

/**
 * Everything that fails outside a route handler (no route, a body Fastify could not read: malformed JSON,
 * over the size limit, an unsupported content type) answers with an RFC 9457 problem.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(
    @Inject(RouteRegistry) private readonly routes: RouteRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const req = http.getRequest<FastifyRequest>();
    if (reply.sent) return;
    const headers: Record<string, string> = { 'x-request-id': String(req.id) };
    const p = this.toProblem(exception, req, reply, headers);
    if (p.status >= 500) this.logger.error('request failed', { err: exception, method: req.method, url: req.url });
    sendResult(reply, problemResult({ ...p, instance: req.url.split('?')[0] }, headers));
  }

  private toProblem(exception: unknown, req: FastifyRequest, reply: FastifyReply, headers: Record<string, string>): Problem {
    if (exception instanceof AppError) return exception.toProblem();
    const cause = exception instanceof HttpException ? exception.cause : exception;
    const code = (cause as { code?: unknown } | undefined)?.code;
    switch (code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE': {
        const limit = req.routeOptions?.bodyLimit;
        lingerOnOversizedBody(req, reply);
        return problem(413, 'payload-too-large', 'Payload too large', `the body is larger than ${limit ?? 'the limit of'} bytes`, {
          ...(limit ? { limit_bytes: limit } : {}),
        });
      }
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return problem(
          415,
          'unsupported-media-type',
          'Unsupported media type',
          `Content-Type "${req.headers['content-type'] ?? ''}" is not accepted here; send application/json`,
        );
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return problem(400, 'malformed-json', 'The body is not valid JSON', 'the request body could not be parsed as JSON');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return problem(400, 'malformed-json', 'The body is empty', 'Content-Type is application/json but the body is empty');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return problem(400, 'bad-request', 'Bad request', 'Content-Length does not match the body');
      default:
        break;
    }
    if (exception instanceof NotFoundException) {
      const path = req.url.split('?')[0] ?? '/';
      const allowed = this.routes.allowedMethods(path);
      if (allowed.length > 0) {
        headers.allow = allowed.join(', ');
        return problem(405, 'method-not-allowed', 'Method not allowed', `${req.method} is not served on ${path}; use ${headers.allow}`);
      }
      return problem(404, 'not-found', 'Not found', `no route ${req.method} ${path}`);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status < 500) return problem(status, status === 400 ? 'bad-request' : `http-${status}`, exception.message, exception.message);
    }
    return problem(500, 'internal', 'Internal error', 'An unexpected error occurred; it has been logged.');
  }
}

/** Bodies up to this size are read and discarded after a 413 rather than cut off. */
const LINGER_MAX_BYTES = 8 * 1024 * 1024;

/**
 * Fastify refuses an oversized body from its Content-Length and closes the connection while the client is still
 * sending, so the client often sees a reset instead of the 413. For a moderately oversized body, read and
 * discard the rest and keep the connection (a lingering close), so the client gets its problem+json answer.
 */
function lingerOnOversizedBody(req: FastifyRequest, reply: FastifyReply): void {
  const length = Number(req.headers['content-length']);
  if (!Number.isFinite(length) || length > LINGER_MAX_BYTES || req.raw.complete) return;
  reply.removeHeader('connection');
  req.raw.resume();
}
