import type { ServerResponse } from 'node:http';
import { type Principal, type RpcReply, scopeAllows } from '@pep/contracts';
import { UnauthorizedError } from '@pep/runtime';
import type { ClientNats } from '@nestjs/microservices';
import type { FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import { csrfTokenFor, csrfTokenValid } from '../auth/session-cookie.ts';
import type { SessionAuthenticator } from '../auth/session-authenticator.ts';
import type { IdentityStore } from '../identity/identity-projection.ts';
import { replyToHttp } from '../routing/forward.ts';
import { requestService, rpcSubject, ServiceUnavailableError } from '../routing/rpc-client.ts';
import { type ConsentApp, consentPage, PAGE_HEADERS, signInPage } from './consent-page.ts';
import { grantableScopes, PROTOCOL_SCOPES } from './provider.ts';

const GATEWAY: Principal = Object.freeze({ kind: 'admin', scopes: ['admin'], credential_id: 'gateway' });
const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', scopes: [], credential_id: 'anonymous' });

/**
 * The sign-in and consent page of the authorization code flow. The resource owner is a portal user of a partner:
 * the page signs them in with their portal session (the same cookie as the portal; a sign-in form when there is
 * none), shows the application's name, logo and publisher and each requested scope in words, and the user
 * approves or denies. The grant holds the requested scopes that both the application's client and the user's
 * role allow. Every POST is checked: Origin, and the session's CSRF token for approve/deny.
 */
export function createInteractions(opts: {
  provider: Provider;
  identity: IdentityStore;
  audience: string;
  sessions: SessionAuthenticator;
  client: ClientNats;
  rpcPrefix: string;
}) {
  const { provider, identity, sessions } = opts;

  const rpc = (
    pattern: string,
    request: { principal: Principal; params?: Record<string, string>; body?: unknown },
    req: FastifyRequest,
    service = 'partner-registry',
    timeoutMs = 5000,
  ) =>
    requestService(opts.client, {
      subject: rpcSubject(opts.rpcPrefix, service, pattern),
      service,
      timeoutMs,
      request: { params: {}, query: {}, body: undefined, ...request, request_id: String(req.id), client_address: req.ip },
    });
  const field = (reply: RpcReply, name: string): string | undefined => {
    const v = reply.ok ? (reply.body as Record<string, unknown> | null)?.[name] : undefined;
    return typeof v === 'string' ? v : undefined;
  };

  /** The application behind a client: its name and publisher from the registry (the client id if unknown). */
  async function appOf(clientId: string, req: FastifyRequest): Promise<ConsentApp> {
    const entry = identity.state.clients.get(clientId);
    const applicationId = entry?.application_id;
    const app = applicationId ? await rpc('applications.get', { principal: GATEWAY, params: { id: applicationId } }, req) : undefined;
    const partnerId = entry?.partner_id ?? (app ? field(app, 'partner_id') : undefined);
    const partner = partnerId ? await rpc('partners.get', { principal: GATEWAY, params: { id: partnerId } }, req) : undefined;
    return {
      clientId,
      name: (app && field(app, 'name')) ?? applicationId ?? clientId,
      publisher: (partner && field(partner, 'name')) ?? 'an unknown publisher',
      logoUrl: (app && field(app, 'logo_url')) ?? (applicationId ? await listingLogo(applicationId, req) : null),
    };
  }

  /**
   * The logo of the application's marketplace listing (applications carry none; the listing's id is `lst_` + the
   * application's): null without a published listing, or when the marketplace does not answer within a second
   * (the page then shows the application's initial rather than wait).
   */
  async function listingLogo(applicationId: string, req: FastifyRequest): Promise<string | null> {
    try {
      const listing = await rpc(
        'listings.get',
        { principal: GATEWAY, params: { id: `lst_${applicationId.replace(/^app_/, '')}` } },
        req,
        'marketplace',
        1000,
      );
      return field(listing, 'logo_url') ?? null;
    } catch (err) {
      if (!(err instanceof ServiceUnavailableError)) throw err;
      req.log.warn(
        { err: err.message, application_id: applicationId },
        'consent page without the listing logo: the marketplace did not answer',
      );
      return null;
    }
  }

  const send = (res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { ...PAGE_HEADERS, ...headers });
    res.end(html);
  };
  const requestedScopes = (scope: unknown) =>
    String(scope ?? '')
      .split(' ')
      .filter(Boolean);

  /** The signed-in partner user of this request, or undefined (no cookie, an ended session, a platform admin). */
  async function signedIn(req: FastifyRequest): Promise<{ principal: Principal; email: string; secret: string } | undefined> {
    const secret = sessions.secretOf(req);
    if (!secret) return undefined;
    try {
      const s = await sessions.session(req, secret, false);
      return s.principal.partner_id ? { ...s, secret } : undefined;
    } catch (err) {
      if (err instanceof UnauthorizedError) return undefined;
      throw err;
    }
  }

  /** Splits the requested API scopes into those the grant will hold and those the user's role does not allow. */
  function scopesFor(clientId: string, requested: string[], principal: Principal) {
    const client = identity.state.usableClient(clientId);
    const apiScopes = requested.filter((s) => !PROTOCOL_SCOPES.includes(s));
    const allowed = new Set(client ? grantableScopes(client, apiScopes) : []);
    const clientOk = apiScopes.filter((s) => allowed.has(s));
    return {
      client,
      granted: clientOk.filter((s) => scopeAllows(principal.scopes, s)),
      refused: clientOk.filter((s) => !scopeAllows(principal.scopes, s)),
    };
  }

  async function render(req: FastifyRequest, res: ServerResponse, status = 200, error?: string): Promise<void> {
    const details = await provider.interactionDetails(req.raw, res);
    const clientId = String(details.params.client_id);
    const app = await appOf(clientId, req);
    const user = await signedIn(req);
    if (!user) return send(res, status, signInPage(details.uid, app, error));
    const { granted, refused } = scopesFor(clientId, requestedScopes(details.params.scope), user.principal);
    const html = consentPage({
      uid: details.uid,
      app,
      user: user.email,
      granted,
      refused,
      csrfToken: csrfTokenFor(user.secret),
      ...(error ? { error } : {}),
    });
    send(res, status, html);
  }

  return {
    show: (req: FastifyRequest, res: ServerResponse) => render(req, res),

    async submit(req: FastifyRequest, res: ServerResponse, body: URLSearchParams): Promise<void> {
      sessions.checkOrigin(req, true);
      const details = await provider.interactionDetails(req.raw, res);
      const decision = body.get('decision');
      if (decision === 'sign-in') {
        const answer = await rpc(
          'auth.sign-in',
          { principal: ANONYMOUS, body: { email: body.get('email') ?? '', password: body.get('password') ?? '' } },
          req,
        );
        if (!answer.ok) {
          const message =
            answer.problem.status === 429 ? 'Too many failed sign-ins; wait a few minutes.' : 'The email or password is not correct.';
          return render(req, res, answer.problem.status === 429 ? 429 : 401, message);
        }
        const shaped = sessions.shapeReply('start', req, replyToHttp(answer));
        res.writeHead(303, {
          location: `/oauth/interaction/${details.uid}`,
          'set-cookie': shaped.headers['set-cookie'] ?? '',
          'cache-control': 'no-store',
        });
        res.end();
        return;
      }
      const user = await signedIn(req);
      if (!user) return render(req, res, 401, 'Your session has ended; sign in again.');
      if (!csrfTokenValid(user.secret, body.get('csrf_token') ?? undefined)) return render(req, res, 403, 'The form expired; try again.');
      const clientId = String(details.params.client_id);
      if (decision !== 'approve') {
        await provider.interactionFinished(
          req.raw,
          res,
          { error: 'access_denied', error_description: 'the resource owner denied the request' },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      const requested = requestedScopes(details.params.scope);
      const { client, granted } = scopesFor(clientId, requested, user.principal);
      if (!client) return render(req, res, 400, 'This application can no longer be authorized.');
      const accountId = user.principal.partner_id as string;
      const grant = new provider.Grant({ accountId, clientId });
      if (granted.length) grant.addResourceScope(opts.audience, granted.join(' '));
      const oidc = requested.filter((s) => PROTOCOL_SCOPES.includes(s));
      if (oidc.length) grant.addOIDCScope(oidc.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req.raw, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
    },
  };
}
