import type { HttpMethod, Principal } from '@pep/contracts';
import { isConnectionError } from '@pep/events';
import { AppError, ForbiddenError, type Logger, RateLimitedError, toProblem, UnauthorizedError, UnavailableError } from '@pep/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthService, wwwAuthenticateFor } from '../auth/auth.service.ts';
import { SessionAuthenticator } from '../auth/session-authenticator.ts';
import { scopeAllows } from '../auth/scopes.ts';
import { IDEMPOTENCY_KEY_PATTERN, requestHash } from '../idempotency/idempotency-decision.ts';
import { IdempotencyService } from '../idempotency/idempotency.service.ts';
import { RateLimiter } from '../rate-limit/rate-limiter.ts';
import { LOGGER } from '../tokens.ts';
import type { ApiUsageRollup } from '../usage/api-usage-rollup.ts';
import { API_USAGE_ROLLUP } from '../usage/usage.module.ts';
import { type HttpResult, problem, problemResult, sendResult } from './http-result.ts';
import { httpServerSpan } from './http-span.ts';

/** What the pipeline needs to know about a route. */
export interface PipelineRoute {
  operationId: string;
  method: HttpMethod;
  path: string;
  scope?: string;
  adminOnly?: boolean;
  public?: boolean;
}

export interface RequestContext {
  requestId: string;
  /** Trace context for the next hop: a child of the request's `traceparent`, or a new trace. */
  traceparent: string;
  /** Undefined on a public route called without credentials. */
  principal: Principal | undefined;
}

const IDEMPOTENT_METHODS = new Set(['POST', 'PATCH', 'DELETE']);

/**
 * The steps every API request goes through, in order: authentication → admin/scope check → rate limit →
 * Idempotency-Key → the route's own work → one problem+json mapping for every failure.
 */
@Injectable()
export class RequestPipeline {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(RateLimiter) private readonly rateLimiter: RateLimiter,
    @Inject(IdempotencyService) private readonly idempotency: IdempotencyService,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SessionAuthenticator) private readonly sessions: SessionAuthenticator,
    @Inject(API_USAGE_ROLLUP) private readonly usage: ApiUsageRollup,
  ) {}

  async handle(
    req: FastifyRequest,
    reply: FastifyReply,
    route: PipelineRoute,
    execute: (ctx: RequestContext) => Promise<HttpResult>,
    bodyForHash: () => string | Uint8Array | undefined = () => jsonBodyForHash(req.body),
  ): Promise<FastifyReply> {
    const requestId = String(req.id);
    const startedAt = performance.now();
    let principal: Principal | undefined;
    const span = httpServerSpan(req, route);
    const traceparent = span.traceparent;
    let headers: Record<string, string> | undefined;
    let result: HttpResult;
    try {
      principal = await this.authenticate(req, route);
      if (principal && !route.public) this.check(principal, route);
      const limit = this.rateLimiter.check(principal, route, req.ip);
      const decision = limit instanceof Promise ? await limit : limit;
      if (decision.headers !== undefined) headers = { ...decision.headers };
      if (!decision.allowed) {
        throw new RateLimitedError('too many requests; slow down', decision.retryAfterSeconds ?? 1);
      }
      const ctx: RequestContext = { requestId, traceparent, principal };
      const key = req.headers['idempotency-key'];
      if (key !== undefined && principal && IDEMPOTENT_METHODS.has(route.method)) {
        if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
          result = problemResult(
            problem(400, 'bad-request', 'Bad request', 'Idempotency-Key must be 1 to 255 visible ASCII characters', {
              errors: [{ path: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }],
            }),
          );
        } else {
          result = await this.idempotency.run(
            { principal, key, method: route.method, path: req.url, requestHash: requestHash(route.method, req.url, bodyForHash()) },
            () => execute(ctx).catch((err) => this.failure(err, req)),
          );
        }
      } else {
        result = await execute(ctx);
      }
    } catch (err) {
      result = this.failure(err, req);
      if (err instanceof UnauthorizedError) {
        headers ??= {};
        headers['www-authenticate'] = wwwAuthenticateFor(err);
      }
      if (err instanceof RateLimitedError) {
        headers ??= {};
        headers['retry-after'] = String(err.retryAfterSeconds);
      }
    }
    reply.header('x-request-id', requestId);
    if (headers !== undefined) reply.headers(headers);
    const sent = sendResult(reply, result);
    span.end(reply.statusCode);
    // Usage rollups (billing, integration metrics): Map increments only, appended once a minute.
    this.usage.record(principal, reply.statusCode, performance.now() - startedAt);
    return sent;
  }

  private async authenticate(req: FastifyRequest, route: PipelineRoute): Promise<Principal | undefined> {
    if (route.public) {
      // Sign-in and the other open account routes refuse a cross-site form post (login CSRF).
      if (route.path.startsWith('/v1/auth/')) this.sessions.checkOrigin(req, false);
      // A public route needs no credential, but one that is sent must be valid (the service may use it).
      return req.headers.authorization ? this.auth.authenticate(req.headers.authorization) : undefined;
    }
    // No Authorization header but a portal session cookie: the session's principal (CSRF-checked when unsafe).
    const sessionSecret = this.sessions.secretOf(req);
    return sessionSecret ? this.sessions.authenticate(req, sessionSecret) : this.auth.authenticate(req.headers.authorization);
  }

  /** Admin-only and scope checks, after authentication (so a refused request still counts as the partner's usage). */
  private check(principal: Principal, route: PipelineRoute): void {
    if (route.adminOnly && principal.kind !== 'admin') {
      throw new ForbiddenError('this operation needs an admin credential');
    }
    if (!scopeAllows(principal.scopes, route.scope)) {
      throw new ForbiddenError(`this operation needs the scope "${route.scope}"`, { extensions: { required_scope: route.scope } });
    }
  }

  /** Any thrown error as a problem result; unexpected ones are logged and answered with an opaque 500. */
  failure(err: unknown, req: FastifyRequest): HttpResult {
    // The gateway's database being away (idempotency records) is an outage, not a bug: 503, retry later.
    if (!(err instanceof AppError) && isConnectionError(err)) {
      this.logger.warn('request needs the database, which is unavailable', {
        method: req.method,
        url: req.url,
        err: (err as Error).message,
      });
      err = new UnavailableError('the gateway database is unavailable; retry the request later', { cause: err });
    }
    const p = toProblem(err, req.url.split('?')[0]);
    if (!(err instanceof AppError) || p.status >= 500) {
      this.logger.error('request failed', { err, method: req.method, url: req.url, request_id: String(req.id) });
    }
    return problemResult(p);
  }
}

export function jsonBodyForHash(body: unknown): string | undefined {
  return body === undefined ? undefined : JSON.stringify(body);
}
