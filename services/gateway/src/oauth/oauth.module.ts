import type { IncomingMessage } from 'node:http';
import type { EventBus } from '@pep/events';
import { AppError, type Logger, loadConfig } from '@pep/runtime';
import { Inject, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import { AuthService } from '../auth/auth.service.ts';
import { SessionAuthenticator } from '../auth/session-authenticator.ts';
import { JwtStrategy } from '../auth/jwt.strategy.ts';
import type { GatewayConfig } from '../config.ts';
import type { GatewayDB } from '../db/schema.ts';
import { LocalRoutes } from '../http/local-routes.ts';
import { RouteRegistry } from '../http/route-registry.ts';
import type { IdentityStore } from '../identity/identity-projection.ts';
import { IDENTITY_STORE } from '../identity/identity-tokens.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import type { ClientNats } from '@nestjs/microservices';
import { BUS, CONFIG, DB, LOGGER, METRICS, RPC_CLIENT } from '../tokens.ts';
import { type AccessTokenVerifier, createAccessTokenVerifier, looksLikeJwt } from './access-tokens.ts';
import { createInteractions } from './interactions.ts';
import { createJwtEndpoints } from './jwt-endpoints.ts';
import { registerGrantRoutes } from './grants.ts';
import { ensureSigningKeys, purgeExpired, sharedSecret } from './oauth-store.ts';
import { createAuthorizationServer, escapeHtml, OAUTH_ROUTES } from './provider.ts';
import { type Revocations, startRevocations } from './revocations.ts';

export const oauthConfigSchema = z.object({
  /** The issuer (RFC 8414): the gateway's public origin. Defaults to GATEWAY_PUBLIC_URL, else the listen address. */
  OAUTH_ISSUER: z.url().optional(),
  /** Audience (resource indicator) of the platform API's access tokens. Defaults to `<issuer>/v1`. */
  OAUTH_AUDIENCE: z.url().optional(),
  /** A new signing key is made at start-up when the newest is older than this. */
  OAUTH_KEY_ROTATION_DAYS: z.coerce.number().min(0).default(30),
  /** Signing keys kept in the JWKS (the newest signs, older ones still verify). */
  OAUTH_KEYS_KEPT: z.coerce.number().int().min(1).default(3),
});

interface OAuthServer {
  provider: Provider;
  verifier: AccessTokenVerifier;
  revocations: Revocations;
  issuer: string;
  audience: string;
}
const OAUTH_SERVER = Symbol('gateway.oauth-server');
const BODY_LIMIT = 56 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new Error('request entity too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * The OAuth 2.0 authorization server, mounted on the gateway's Fastify instance: oidc-provider's Koa
 * callback gets the raw request for `/oauth/*` and the discovery documents; `/oauth/interaction/:uid` is the
 * sign-in/consent page; JWT access tokens sent to the introspection and revocation endpoints are handled by
 * the gateway itself (oidc-provider leaves structured tokens to the resource server). Also registers the JWT
 * strategy, so access tokens authenticate API calls.
 */
@Module({
  providers: [
    {
      provide: OAUTH_SERVER,
      inject: [CONFIG, LOGGER, DB, BUS, IDENTITY_STORE, METRICS],
      useFactory: async (
        cfg: GatewayConfig,
        logger: Logger,
        db: Kysely<GatewayDB>,
        bus: EventBus,
        identity: IdentityStore,
        metrics: GatewayMetrics,
      ): Promise<OAuthServer> => {
        const oc = loadConfig(oauthConfigSchema);
        const issuer = (oc.OAUTH_ISSUER ?? cfg.GATEWAY_PUBLIC_URL ?? `http://${cfg.GATEWAY_HOST}:${cfg.GATEWAY_PORT}`).replace(/\/$/, '');
        const audience = oc.OAUTH_AUDIENCE ?? `${issuer}/v1`;
        const log = logger.child({ component: 'oauth' });
        const signingKeys = await ensureSigningKeys(db, { rotateAfterDays: oc.OAUTH_KEY_ROTATION_DAYS, keep: oc.OAUTH_KEYS_KEPT });
        const cookieSecret = await sharedSecret(db, 'cookie_key');
        const revocations = await startRevocations({
          db,
          nc: bus.nc,
          subject: `${cfg.RPC_PREFIX}.gateway.oauth.revoked`,
          logger: log,
        });
        const provider = createAuthorizationServer({ issuer, audience, db, identity, revocations, signingKeys, cookieSecret, logger: log });
        const verifier = createAccessTokenVerifier({ db, issuer, audience, identity, revocations });
        await verifier.reload();
        // Expired artifacts are only clutter: a failed purge is reported and tried again at the next start.
        await purgeExpired(db).catch((err: unknown) => {
          metrics.backgroundFailures.inc({ what: 'oauth_purge' });
          log.warn('purging expired OAuth artifacts failed', { err });
        });
        return { provider, verifier, revocations, issuer, audience };
      },
    },
  ],
})
export class OAuthModule implements OnModuleInit, OnModuleDestroy {
  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(RouteRegistry) private readonly registry: RouteRegistry,
    @Inject(IDENTITY_STORE) private readonly identity: IdentityStore,
    @Inject(OAUTH_SERVER) private readonly server: OAuthServer,
    @Inject(SessionAuthenticator) private readonly sessions: SessionAuthenticator,
    @Inject(RPC_CLIENT) private readonly client: ClientNats,
    @Inject(CONFIG) private readonly cfg: GatewayConfig,
    @Inject(LocalRoutes) private readonly local: LocalRoutes,
    @Inject(DB) private readonly db: Kysely<GatewayDB>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.auth.register(new JwtStrategy(this.server.verifier));
    const { provider } = this.server;
    const callback = provider.callback();
    const interactions = createInteractions({
      provider,
      identity: this.identity,
      audience: this.server.audience,
      sessions: this.sessions,
      client: this.client,
      rpcPrefix: this.cfg.RPC_PREFIX,
    });
    registerGrantRoutes({
      local: this.local,
      db: this.db,
      provider,
      identity: this.identity,
      revocations: this.server.revocations,
      client: this.client,
      rpcPrefix: this.cfg.RPC_PREFIX,
      logger: this.logger.child({ component: 'oauth-grants' }),
    });
    const jwtEndpoints = createJwtEndpoints({
      identity: this.identity,
      verifier: this.server.verifier,
      revocations: this.server.revocations,
    });

    const toProvider = (req: FastifyRequest, reply: FastifyReply, url?: string) => {
      reply.hijack();
      if (url) req.raw.url = url;
      callback(req.raw, reply.raw);
    };
    /** Introspection/revocation: JWTs are answered here, anything else goes on to oidc-provider (body pre-read). */
    const tokenEndpoint = (kind: 'introspect' | 'revoke') => async (req: FastifyRequest, reply: FastifyReply) => {
      const raw = await readBody(req.raw);
      const form = new URLSearchParams(raw.toString());
      const token = form.get('token') ?? '';
      if (looksLikeJwt(token)) {
        const answer = await jwtEndpoints[kind](req.headers.authorization, form);
        return reply.code(answer.status).headers(answer.headers).send(answer.body);
      }
      (req.raw as IncomingMessage & { body?: Buffer }).body = raw;
      return toProvider(req, reply);
    };

    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    for (const [m, p] of [
      ['GET', '/.well-known/oauth-authorization-server'],
      ['GET', '/.well-known/openid-configuration'],
      ['GET', '/oauth/*'],
      ['POST', '/oauth/*'],
    ] as const) {
      this.registry.add(m, p);
    }
    void app.register(async (scope) => {
      // oidc-provider reads the raw body itself: nothing here may consume it.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
      scope.get('/.well-known/oauth-authorization-server', (req, reply) => toProvider(req, reply, '/.well-known/openid-configuration'));
      scope.get('/.well-known/openid-configuration', (req, reply) => toProvider(req, reply));
      scope.get('/oauth/interaction/:uid', async (req, reply) => {
        reply.hijack();
        await interactions.show(req, reply.raw).catch((err) => this.interactionFailed(reply, err));
      });
      scope.post('/oauth/interaction/:uid', async (req, reply) => {
        reply.hijack();
        try {
          const body = new URLSearchParams((await readBody(req.raw)).toString());
          await interactions.submit(req, reply.raw, body);
        } catch (err) {
          this.interactionFailed(reply, err);
        }
      });
      scope.post(OAUTH_ROUTES.introspection, tokenEndpoint('introspect'));
      scope.post(OAUTH_ROUTES.revocation, tokenEndpoint('revoke'));
      scope.all('/oauth/*', (req, reply) => toProvider(req, reply));
    });
  }

  private interactionFailed(reply: FastifyReply, err: unknown): void {
    const res = reply.raw;
    if (res.headersSent) {
      res.end();
      return;
    }
    // A refused request (cross-origin form post, an engine away) says why; an expired interaction says to start again.
    const refused = err instanceof AppError && err.status < 500 ? err : undefined;
    const expired = !refused && err instanceof Error && /interaction|session/i.test(err.message);
    const status = refused ? refused.status : expired ? 400 : err instanceof AppError ? err.status : 500;
    const text = refused ? refused.message : expired ? 'This authorization request has expired; start again.' : 'Something went wrong.';
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><meta charset="utf-8"><p>${escapeHtml(text)}</p>`);
  }

  onModuleDestroy(): void {
    this.server.revocations.stop();
  }
}
