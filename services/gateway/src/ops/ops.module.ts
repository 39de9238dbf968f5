import { renderApiReferenceHtml } from '@pep/apidocs';
import type { EventBus } from '@pep/events';
import { runChecks } from '@pep/runtime';
import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ClientNats } from '@nestjs/microservices';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { type Kysely, sql } from 'kysely';
import type { GatewayConfig } from '../config.ts';
import type { GatewayDB } from '../db/schema.ts';
import { JSON_TYPE } from '../http/http-result.ts';
import { RouteRegistry } from '../http/route-registry.ts';
import { BUS, CONFIG, DB, METRICS, RPC_CLIENT } from '../tokens.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';
import { gatewayOpenApi } from './openapi.ts';

/**
 * Health, readiness, Prometheus metrics, the OpenAPI document and the API reference page; plus the hook that
 * counts and times every response by route and status.
 */
@Module({})
export class OpsModule implements OnModuleInit {
  private openApiJson: string | undefined;
  private docsHtml: string | undefined;

  constructor(
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    @Inject(RouteRegistry) private readonly registry: RouteRegistry,
    @Inject(CONFIG) private readonly cfg: GatewayConfig,
    @Inject(METRICS) private readonly metrics: GatewayMetrics,
    @Inject(BUS) private readonly bus: EventBus,
    @Inject(DB) private readonly db: Kysely<GatewayDB>,
    @Inject(RPC_CLIENT) private readonly rpc: ClientNats,
  ) {}

  onModuleInit(): void {
    const app = this.host.httpAdapter.getInstance<FastifyInstance>();
    const { requests, latency } = this.metrics;
    app.addHook('onResponse', (req, reply, done) => {
      const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
      requests.inc(labels);
      latency.observe(labels, reply.elapsedTime / 1000);
      done();
    });

    const get = (path: string, handler: RouteHandlerMethod) => {
      this.registry.add('GET', path);
      app.get(path, handler);
    };
    get('/healthz', async (_req, reply) => reply.type(JSON_TYPE).send('{"status":"ok"}'));
    get('/readyz', async (_req, reply) => {
      const checks = await runChecks({
        nats: async () => {
          if (this.bus.nc.isClosed()) throw new Error('closed');
          await this.bus.nc.flush();
        },
        nats_rpc: async () => {
          await this.rpc.unwrap<NatsConnection>().flush();
        },
        postgres: async () => {
          await sql`select 1`.execute(this.db);
        },
      });
      const ok = Object.values(checks).every((c) => c === 'ok');
      return reply
        .code(ok ? 200 : 503)
        .type(JSON_TYPE)
        .send(JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks }));
    });
    get('/metrics', async (_req, reply) => reply.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics()));
    get('/openapi.json', async (_req, reply) => reply.type(JSON_TYPE).send(this.openApi()));
    get('/docs', async (_req, reply) => {
      this.docsHtml ??= renderApiReferenceHtml(JSON.parse(this.openApi()) as Record<string, unknown>, { openApiUrl: '/openapi.json' });
      return reply.type('text/html; charset=utf-8').send(this.docsHtml);
    });
  }

  /** Built on first use, when every module has registered its routes. */
  private openApi(): string {
    const url = this.cfg.GATEWAY_PUBLIC_URL ?? `http://${this.cfg.GATEWAY_HOST}:${this.cfg.GATEWAY_PORT}`;
    this.openApiJson ??= JSON.stringify(gatewayOpenApi(url));
    return this.openApiJson;
  }
}
