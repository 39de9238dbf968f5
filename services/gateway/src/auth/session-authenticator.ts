import { createHash } from 'node:crypto';
import { ACCOUNTS_RPC, CSRF_HEADER, type Principal, type RouteContract } from '@pep/contracts';
import { ForbiddenError, UnauthorizedError } from '@pep/runtime';
import type { ClientNats } from '@nestjs/microservices';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { HttpResult } from '../http/http-result.ts';
import { requestService, rpcSubject } from '../routing/rpc-client.ts';
import {
  type CookieRequest,
  clearedSessionCookie,
  csrfTokenFor,
  csrfTokenValid,
  ownOrigin,
  requestOrigin,
  secureCookies,
  sessionCookie,
  sessionSecretOf,
} from './session-cookie.ts';

export const sessionConfigSchema = z.object({
  /** `auto`: `Secure` + `__Host-` except plain http on a loopback host (local development). */
  SESSION_COOKIE_SECURE: z.enum(['auto', 'always', 'never']).default('auto'),
});

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const GATEWAY_PRINCIPAL: Principal = Object.freeze({ kind: 'admin', scopes: ['admin'], credential_id: 'gateway' });
const AnswerSchema = z.object({
  principal: z.object({
    kind: z.enum(['admin', 'partner']),
    partner_id: z.string().optional(),
    scopes: z.array(z.string()),
    credential_id: z.string(),
    user_id: z.string(),
  }),
  user: z.object({ email: z.string() }),
});

/** A cookie-authenticated state-changing request without its CSRF token, or from another origin. */
export class CsrfError extends ForbiddenError {}

/**
 * Portal sessions at the gateway: the cookie becomes a principal (the registry checks the session by its hash and
 * answers the user's partner and role scopes), with CSRF protection for every state-changing request, and the
 * cookie is set and cleared around the session routes of contracts/accounts.
 */
export class SessionAuthenticator {
  constructor(
    private readonly client: ClientNats,
    private readonly opts: { rpcPrefix: string; publicUrl: string | undefined; secure: 'auto' | 'always' | 'never'; timeoutMs: number },
  ) {}

  private secure(req: CookieRequest): boolean {
    return secureCookies(req, this.opts.secure);
  }

  /** The request's session secret, if it carries a session cookie (and no Authorization header). */
  secretOf(req: FastifyRequest): string | undefined {
    if (req.headers.authorization !== undefined) return undefined;
    return sessionSecretOf(req, this.secure(req));
  }

  /** Refuses a state-changing request whose `Origin`/`Referer` is not the gateway's own (or is missing). */
  checkOrigin(req: FastifyRequest, required: boolean): void {
    if (SAFE_METHODS.has(req.method)) return;
    const origin = requestOrigin(req);
    if (origin === undefined && !required) return;
    if (origin !== ownOrigin(req, this.opts.publicUrl)) {
      throw new CsrfError('cross-origin request refused: Origin must be this site', { extensions: { origin: origin ?? null } });
    }
  }

  async authenticate(req: FastifyRequest, secret: string): Promise<Principal> {
    return (await this.session(req, secret)).principal;
  }

  /**
   * The session's principal and its user's email, CSRF-checked first when the request is state-changing (a caller
   * that checks a CSRF token of its own, such as the consent form's hidden field, passes `checkCsrf = false`).
   */
  async session(req: FastifyRequest, secret: string, checkCsrf = true): Promise<{ principal: Principal; email: string }> {
    if (checkCsrf && !SAFE_METHODS.has(req.method)) {
      this.checkOrigin(req, true);
      if (!csrfTokenValid(secret, req.headers[CSRF_HEADER])) {
        throw new CsrfError(`a state-changing request made with the session cookie needs its CSRF token in ${CSRF_HEADER}`);
      }
    }
    const answer = await requestService(this.client, {
      subject: rpcSubject(this.opts.rpcPrefix, 'partner-registry', ACCOUNTS_RPC.authenticateSession),
      service: 'partner-registry',
      timeoutMs: this.opts.timeoutMs,
      request: {
        principal: GATEWAY_PRINCIPAL,
        params: {},
        query: {},
        body: { session_hash: createHash('sha256').update(secret).digest('hex') },
        request_id: String(req.id),
      },
    });
    if (!answer.ok) {
      if (answer.problem.status === 401) throw new UnauthorizedError(answer.problem.detail ?? 'the session has ended; sign in again');
      throw new UnauthorizedError('the session could not be checked; sign in again');
    }
    const parsed = AnswerSchema.parse(answer.body);
    return { principal: parsed.principal, email: parsed.user.email };
  }

  /**
   * The reply of a session route: `start` moves `session_secret` out of the body into the cookie and puts the CSRF
   * token in its place; `current` adds the CSRF token of the request's session; `end` clears the cookie.
   */
  shapeReply(kind: NonNullable<RouteContract['session']>, req: FastifyRequest, result: HttpResult): HttpResult {
    const secure = this.secure(req);
    if (kind === 'end') return { ...result, headers: { ...result.headers, 'set-cookie': clearedSessionCookie(secure) } };
    if (result.status >= 300 || typeof result.body !== 'string') return result;
    const body = JSON.parse(result.body) as Record<string, unknown> & { session?: { expires_at?: string } };
    const headers = { ...result.headers, 'cache-control': 'no-store' };
    if (kind === 'current') {
      const secret = this.secretOf(req);
      return { ...result, headers, body: JSON.stringify({ ...body, csrf_token: secret ? csrfTokenFor(secret) : '' }) };
    }
    const { session_secret: secret, ...rest } = body;
    if (typeof secret !== 'string') return result;
    const maxAge = (Date.parse(body.session?.expires_at ?? '') - Date.now()) / 1000;
    return {
      ...result,
      headers: { ...headers, 'set-cookie': sessionCookie(secret, secure, Number.isFinite(maxAge) ? maxAge : 0) },
      body: JSON.stringify({ ...rest, csrf_token: csrfTokenFor(secret) }),
    };
  }
}
