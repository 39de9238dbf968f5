import 'reflect-metadata';
import { createDb, ensureDatabase, migrateToLatest, type NamedMigrations, type PlatformTables } from '@pep/db';
import {
  closeBus,
  connectBus,
  type EventBus,
  ensureStream,
  pgDeadLetters,
  type Projection,
  type ProjectionRunner,
  StreamSettingsSchema,
  startProjection,
} from '@pep/events';
import {
  type BaseConfig,
  baseConfigSchema,
  createLogger,
  createMetrics,
  databaseUrl,
  type Logger,
  loadConfig,
  type Metrics,
  onShutdown,
  startHealthServer,
  startTelemetry,
} from '@pep/runtime';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { z } from 'zod';
import { createRpcServer, handler, ok, type RpcHandler } from './rpc.ts';

export interface ServiceContext<DB, C> {
  name: string;
  config: BaseConfig & C;
  logger: Logger;
  metrics: Metrics;
  bus: EventBus;
  db: Kysely<DB>;
  projections: Map<string, ProjectionRunner>;
  deadLetters: ReturnType<typeof pgDeadLetters>;
}

export interface ServiceDefinition<DB, C> {
  name: string;
  /** Extra settings on top of the base config. */
  configSchema?: z.ZodObject;
  migrations: NamedMigrations;
  projections?: (ctx: ServiceContext<DB, C>) => Projection<DB & PlatformTables>[];
  /** RPC handlers by pattern (without prefix). */
  handlers?: (ctx: ServiceContext<DB, C>) => Record<string, RpcHandler>;
  /** Anything else that runs (workers, timers); returns its stop function. */
  start?: (ctx: ServiceContext<DB, C>) => Promise<() => Promise<void>>;
}

@Module({})
class RpcHostModule {}

/**
 * Starts a service as its own process: config → database (created, migrated) → NATS and the stream →
 * projections → RPC server → health/metrics → graceful shutdown on SIGTERM (stop taking requests, finish
 * in-flight work, stop projections, drain NATS, close the pool).
 */
export async function runService<DB, C = Record<string, never>>(def: ServiceDefinition<DB, C>): Promise<ServiceContext<DB, C>> {
  const schema = def.configSchema ? baseConfigSchema.extend(def.configSchema.shape) : baseConfigSchema;
  const config = loadConfig(schema.extend(StreamSettingsSchema.shape)) as unknown as BaseConfig & C;
  const logger = createLogger(def.name, config.LOG_LEVEL);
  const shutdown = onShutdown(logger);
  const telemetry = startTelemetry(def.name);
  const metrics = createMetrics(def.name);

  const url = databaseUrl(config, def.name);
  await ensureDatabase(url);
  const db = createDb<DB>(url);
  const applied = await migrateToLatest(db, def.migrations);
  if (applied.length) logger.info('migrations applied', { applied });

  const bus = await connectBus({ url: config.NATS_URL, name: def.name, stream: config.STREAM_NAME, prefix: config.SUBJECT_PREFIX });
  await ensureStream(bus.jsm, StreamSettingsSchema.parse(config));
  const deadLetters = pgDeadLetters(db);
  const ctx: ServiceContext<DB, C> = { name: def.name, config, logger, metrics, bus, db, projections: new Map(), deadLetters };

  for (const p of def.projections?.(ctx) ?? []) {
    const runner = await startProjection({ bus, db: db as unknown as Kysely<DB & PlatformTables>, projection: p, deadLetters, logger });
    ctx.projections.set(p.name, runner);
  }
  const lagGauge = metrics.gauge(
    'projection_lag_events',
    'Events in the stream not yet applied to the projection',
    ['projection'],
    async () => {
      for (const [name, r] of ctx.projections) lagGauge.set({ projection: name }, await r.lag().catch(() => -1));
    },
  );

  const handlers = { ...opsHandlers(ctx), ...(def.handlers?.(ctx) ?? {}) };
  const rpc = createRpcServer({ natsUrl: config.NATS_URL, service: def.name, rpcPrefix: config.RPC_PREFIX, handlers });
  const app = await NestFactory.createMicroservice(RpcHostModule, { strategy: rpc, logger: ['error', 'warn'] });
  await app.listen();

  const stopExtra = def.start ? await def.start(ctx) : async () => undefined;

  const health = await startHealthServer({
    port: config.HEALTH_PORT ?? 0,
    metrics,
    checks: {
      nats: async () => {
        if (bus.nc.isClosed()) throw new Error('closed');
        await bus.nc.flush();
      },
      postgres: async () => {
        await sql`select 1`.execute(db);
      },
    },
  });
  logger.info('service started', { health_port: health.port, rpc_prefix: config.RPC_PREFIX, stream: config.STREAM_NAME });

  shutdown.add('rpc', () => app.close());
  shutdown.add('workers', () => stopExtra());
  shutdown.add('projections', () => Promise.all([...ctx.projections.values()].map((r) => r.stop())));
  shutdown.add('health', () => health.close());
  shutdown.add('nats', () => closeBus(bus));
  shutdown.add('postgres', () => db.destroy());
  shutdown.add('telemetry', () => telemetry.shutdown());
  return ctx;
}

/** Operator requests every service answers: projection status, rebuild, dead letters. */
function opsHandlers<DB, C>(ctx: ServiceContext<DB, C>): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(ctx.logger, fn);
  return {
    'ops.projections': h(async () => {
      const out = [];
      for (const [name, r] of ctx.projections) out.push({ name, checkpoint: await r.checkpoint(), lag: await r.lag() });
      return ok({ data: out });
    }),
    'ops.rebuild': h(async (req) => {
      const body = req.body as { projection: string; from?: 'start' | 'seq' | 'time'; seq?: number; time?: string };
      const r = ctx.projections.get(body.projection);
      if (!r)
        return { ok: false, problem: { type: 'not-found', title: 'Not found', status: 404, detail: `no projection ${body.projection}` } };
      const from =
        body.from === 'seq'
          ? { from: 'seq' as const, seq: Number(body.seq) }
          : body.from === 'time'
            ? { from: 'time' as const, time: String(body.time) }
            : { from: 'start' as const };
      return ok(await r.rebuild(from), 202);
    }),
    'ops.dead-letters': h(async (req) =>
      ok({ data: await ctx.deadLetters.list({ limit: Number((req.query as { limit?: number })?.limit ?? 100) }) }),
    ),
  };
}
