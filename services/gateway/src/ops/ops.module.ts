import { renderApiReferenceHtml } from '@pep/apidocs';
import { type EventBus, watchConnection } from '@pep/events';
import { readiness, runChecks } from '@pep/runtime';
import { Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ClientNats } from '@nestjs/microservices';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { type Kysely, sql } from 'kysely';
import type { GatewayConfig } from '../config.ts';
import type { GatewayDB } from '../db/schema.ts';
import { DEFAULT_RETRY_AFTER_S, JSON_TYPE } from '../http/http-result.ts';
import { RouteRegistry } from '../http/route-registry.ts';
import type { IdentityStore } from '../identity/identity-projection.ts';
import { IDENTITY_STORE } from '../identity/identity-tokens.ts';
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
    @Inject(IDENTITY_STORE) private readonly identity: IdentityStore,
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
      // Publishing needs only NATS: with Postgres away the gateway stays ready (degraded) and keeps accepting
      // events; what needs Postgres (Idempotency-Key, the persisted identity copy) answers 503 + Retry-After.
      const checks = await runChecks({
        nats: async () => {
          const problem = watchConnection(this.bus.nc).problem();
          if (problem) throw new Error(problem);
          await this.bus.nc.flush();
        },
        nats_rpc: async () => {
          await this.rpc.unwrap<NatsConnection>().flush();
        },
        postgres: async () => {
          try {
            await sql`select 1`.execute(this.db);
          } catch (err) {
            return { degraded: `unavailable (${(err as Error).message}); events are still accepted` };
          }
        },
        'projection:gateway-identity-memory': async () => {
          const { memory } = await this.identity.status();
          if (memory.unknown) throw new Error(`unavailable: ${memory.unknown}`);
          if (memory.behind > 0 && memory.stalledForMs >= 5000)
            throw new Error(`stalled: ${memory.behind} events behind, no progress for ${Math.round(memory.stalledForMs / 1000)} s`);
        },
        'projection:gateway-identity': async () => {
          const { persisted } = await this.identity.status();
          if (persisted.state === 'ok') return;
          // The persisted copy only speeds up a restart: its trouble degrades, never blocks, the gateway.
          return { degraded: `${persisted.state}: ${persisted.reason ?? ''}` };
        },
      });
      const { status, ok } = readiness(checks);
      // Not ready is a 503 like any other: it says when to look again.
      if (!ok) reply.header('retry-after', String(DEFAULT_RETRY_AFTER_S));
      return reply
        .code(ok ? 200 : 503)
        .type(JSON_TYPE)
        .send(JSON.stringify({ status, checks }));
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
