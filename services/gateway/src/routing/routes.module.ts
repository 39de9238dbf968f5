import { type Principal, type RouteContract, type RpcRequest, routes } from '@pep/contracts';
import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ClientNats } from '@nestjs/microservices';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SessionAuthenticator } from '../auth/session-authenticator.ts';
import type { GatewayConfig } from '../config.ts';
import type { HttpResult } from '../http/http-result.ts';
import { LocalRoutes } from '../http/local-routes.ts';
import { type RequestContext, RequestPipeline } from '../http/request-pipeline.ts';
import { RouteRegistry } from '../http/route-registry.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { CONFIG, METRICS, RPC_CLIENT } from '../tokens.ts';
import { replyToHttp, validateInput } from './forward.ts';
import { requestService, rpcSubject, UpstreamError } from './rpc-client.ts';
import { tracedRequest } from './rpc-span.ts';

/** The principal sent to a service for a public route called without credentials. */
export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', scopes: [], credential_id: 'anonymous' });

/**
 * Registers every route of the contracts' route table: the pipeline (auth, scope, rate limit, idempotency),
 * zod validation, then a NATS request to `<RPC_PREFIX>.<service>.<pattern>` and the reply mapped to HTTP.
 * Routes added to the table are served without touching the gateway.
 */
@Module({})
export class RoutesModule implements OnModuleInit {
  /** Until then a request waits for a service that has no responder yet (the gateway started before it). */
  private readonly startupUntil: number;
  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(RequestPipeline) private readonly pipeline: RequestPipeline,
    @Inject(RouteRegistry) private readonly registry: RouteRegistry,
    @Inject(RPC_CLIENT) private readonly client: ClientNats,
    @Inject(CONFIG) private readonly cfg: GatewayConfig,
    @Inject(METRICS) private readonly metrics: GatewayMetrics,
    @Inject(SessionAuthenticator) private readonly sessions: SessionAuthenticator,
    @Inject(LocalRoutes) private readonly local: LocalRoutes,
  ) {
    this.startupUntil = Date.now() + cfg.GATEWAY_STARTUP_WAIT_MS;
  }

  onModuleInit(): void {
    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    const json = routes.filter((r) => !r.raw);
    const raw = routes.filter((r) => r.raw);
    for (const route of json) this.register(app, route, this.cfg.GATEWAY_BODY_LIMIT);
    if (raw.length > 0) {
      // Raw routes get their body as bytes whatever its type: their own encapsulated content-type parsers.
      void app.register(async (scope) => {
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
        for (const route of raw) this.register(scope, route, this.cfg.GATEWAY_RAW_BODY_LIMIT);
      });
    }
  }

  private register(app: FastifyInstance, route: RouteContract, bodyLimit: number): void {
    this.registry.add(route.method, route.path);
    const subject = rpcSubject(this.cfg.RPC_PREFIX, route.service, route.pattern);
    const timeoutMs = route.timeoutMs ?? this.cfg.RPC_TIMEOUT_MS;
    const hashBody = route.raw ? (req: FastifyRequest) => () => req.body as Buffer | undefined : undefined;
    app.route({
      method: route.method,
      url: route.path,
      bodyLimit,
      handler: (req, reply) =>
        this.pipeline.handle(req, reply, route, (ctx) => this.forward(req, route, subject, timeoutMs, ctx), hashBody?.(req)),
    });
  }

  private async forward(
    req: FastifyRequest,
    route: RouteContract,
    subject: string,
    timeoutMs: number,
    ctx: RequestContext,
  ): Promise<HttpResult> {
    const input = validateInput(route, {
      params: req.params,
      query: req.query,
      body: route.raw ? rawBody(req) : req.body,
    });
    if (route.service === 'gateway') return this.answerLocally(route, input, ctx);
    const request: RpcRequest = {
      principal: ctx.principal ?? ANONYMOUS,
      params: input.params as Record<string, string>,
      query: input.query,
      body: input.body,
      traceparent: ctx.traceparent,
      request_id: ctx.requestId,
      client_address: req.ip,
      ...(route.raw ? { headers: forwardedHeaders(req, !route.public) } : {}),
    };
    try {
      const waitForResponderMs = this.startupUntil - Date.now();
      const answer = await tracedRequest(subject, route.service, request, (r) =>
        requestService(this.client, { subject, service: route.service, request: r, timeoutMs, waitForResponderMs }),
      );
      this.metrics.rpcRequests.inc({ service: route.service, outcome: answer.ok ? 'ok' : 'problem' });
      const result = replyToHttp(answer);
      return route.session ? this.sessions.shapeReply(route.session, req, result) : result;
    } catch (err) {
      this.metrics.rpcRequests.inc({ service: route.service, outcome: err instanceof UpstreamError ? 'error' : 'unavailable' });
      if (err instanceof UpstreamError) return upstreamFailure(err);
      throw err;
    }
  }

  /** A route whose data the gateway itself holds: its module's handler answers (no NATS hop). */
  private answerLocally(route: RouteContract, input: ReturnType<typeof validateInput>, ctx: RequestContext): Promise<HttpResult> {
    const handler = this.local.get(route.operationId);
    if (!handler) throw new Error(`no gateway handler for ${route.operationId}`);
    return handler({ ...input, principal: ctx.principal ?? ANONYMOUS, requestId: ctx.requestId });
  }
}

function upstreamFailure(err: UpstreamError): HttpResult {
  return {
    status: 502,
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    body: JSON.stringify({
      type: 'https://docs.partner-platform.dev/problems/upstream-error',
      title: 'The owning service failed',
      status: 502,
      detail: err.message,
    }),
  };
}

function rawBody(req: FastifyRequest): { raw_base64: string; content_type: string | null } {
  const body = req.body;
  const buf = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  return { raw_base64: buf.toString('base64'), content_type: req.headers['content-type'] ?? null };
}

/** Lower-cased request headers for raw routes; the gateway's own credential is not passed on. */
function forwardedHeaders(req: FastifyRequest, authenticated: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const k = name.toLowerCase();
    if (authenticated && k === 'authorization') continue;
    out[k] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
