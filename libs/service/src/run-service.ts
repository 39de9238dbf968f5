import 'reflect-metadata';
import { createDb, ensureDatabase, migrateToLatest, type NamedMigrations, type PlatformTables } from '@pep/db';
import {
  closeBus,
  connectBus,
  DeadLetterRetryError,
  durableLags,
  type EventBus,
  hasWorker,
  isConnectionError,
  type RebuildProgress,
  rebuildBeside,
  retryWorkerDeadLetter,
  ensureStream,
  pgDeadLetters,
  type Projection,
  type ProjectionRunner,
  StreamSettingsSchema,
  startProjection,
  registerStreamMetrics,
  trackProjection,
  watchConnection,
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
  NotFoundError,
  onShutdown,
  ValidationError,
  startHealthServer,
  startTelemetry,
} from '@pep/runtime';
import { Logger as NestLogger } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { z } from 'zod';
import { HealthCheckError } from './health-errors.ts';
import { createRpcServer, handler, ok, type RpcHandler } from './rpc.ts';

export interface ServiceContext<DB, C> {
  name: string;
  config: BaseConfig & C;
  logger: Logger;
  metrics: Metrics;
  bus: EventBus;
  db: Kysely<DB & PlatformTables>;
  projections: Map<string, ProjectionRunner>;
  deadLetters: ReturnType<typeof pgDeadLetters>;
  /** Rebuilds beside the live read model (tables declared or inferred from the projection's reset). */
  rebuilders?: Map<string, (onProgress: (p: RebuildProgress) => void) => Promise<unknown>>;
  /** The last rebuild beside the live read model of each projection, as it goes. */
  rebuilds?: Map<string, RebuildProgress>;
}

export interface ServiceDefinition<DB, C> {
  name: string;
  /** Extra settings on top of the base config. */
  configSchema?: z.ZodObject;
  migrations: NamedMigrations;
  projections?: (ctx: ServiceContext<DB, C>) => Projection<DB & PlatformTables>[];
  /** RPC handlers by pattern (without prefix). */
  handlers?: (ctx: ServiceContext<DB, C>) => Record<string, RpcHandler>;
  /** Ends the process after a graceful shutdown (the process entry passes `process.exit`; see `onShutdown`). */
  exit?: (code: number) => void;
  /** Anything else that runs (workers, timers); returns its stop function. */
  start?: (ctx: ServiceContext<DB, C>) => Promise<() => Promise<void>>;
}

/**
 * Starts a service as its own process: config → database (created, migrated) → NATS and the stream →
 * projections → RPC server → health/metrics → graceful shutdown on SIGTERM (stop taking requests, finish
 * in-flight work, stop projections, drain NATS, close the pool).
 */
export async function runService<DB, C = Record<string, never>>(def: ServiceDefinition<DB, C>): Promise<ServiceContext<DB, C>> {
  const schema = def.configSchema ? baseConfigSchema.extend(def.configSchema.shape) : baseConfigSchema;
  const config = loadConfig(schema.extend(StreamSettingsSchema.shape)) as BaseConfig & C;
  const logger = createLogger(def.name, config.LOG_LEVEL);
  const shutdown = onShutdown(logger, def.exit ? { exit: def.exit } : {});
  const telemetry = await startTelemetry(def.name);
  const metrics = createMetrics(def.name);

  // An engine may be away at start-up too (a restart of the host, a database failover): wait for it, saying so,
  // instead of exiting and leaving it to a supervisor.
  // A stray rejection (a connection dropped under a fire-and-forget call) is reported, never the end of the process.
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection (the service keeps running)', { err }));
  const untilReady = <T>(what: string, fn: () => Promise<T>) => retryUntilReady(what, fn, logger);
  const poolErrors = metrics.counter('db_pool_errors_total', 'Postgres connections lost by the pool (the pool reconnects)');
  const url = databaseUrl(config, def.name);
  await untilReady('postgres', () => ensureDatabase(url));
  const db = createDb<DB & PlatformTables>(url, {
    onError: (err) => {
      poolErrors.inc();
      logger.warn('postgres connection lost (the pool reconnects on the next query)', { err: err.message });
    },
  });
  const applied = await untilReady('migrations', () => migrateToLatest(db, def.migrations));
  if (applied.length) logger.info('migrations applied', { applied });

  const bus = await connectBus({
    url: config.NATS_URL,
    name: def.name,
    stream: config.STREAM_NAME,
    prefix: config.SUBJECT_PREFIX,
    logger,
  });
  const connection = watchConnection(bus.nc, logger);
  await untilReady('the stream', () => ensureStream(bus.jsm, StreamSettingsSchema.parse(config)));
  const deadLetters = pgDeadLetters(db);
  const ctx: ServiceContext<DB, C> = {
    name: def.name,
    config,
    logger,
    metrics,
    bus,
    db,
    projections: new Map(),
    deadLetters,
    rebuilders: new Map(),
    rebuilds: new Map(),
  };

  const recreated = metrics.counter(
    'projection_consumer_recreated_total',
    'Times a projection consumer was recreated from its checkpoint (stalled, reconnect, consumer gone)',
    ['projection', 'reason'],
  );
  const deadLettered = metrics.counter('projection_dead_letters_total', 'Events a projection could not apply and skipped', ['projection']);
  for (const p of def.projections?.(ctx) ?? []) {
    const runner = await untilReady(`projection ${p.name}`, () =>
      startProjection({
        bus,
        db,
        projection: p,
        deadLetters,
        logger,
        onRecreate: (reason) => recreated.inc({ projection: p.name, reason }),
        onDeadLetter: () => deadLettered.inc({ projection: p.name }),
      }),
    );
    deadLettered.inc({ projection: p.name }, 0);
    ctx.projections.set(p.name, trackProjection(p.name, runner));
    ctx.rebuilders?.set(p.name, (onProgress) => rebuildBeside({ bus, db, projection: p, live: runner, deadLetters, logger, onProgress }));
  }
  registerStreamMetrics(metrics, { logger, db });
  const handlers = { ...opsHandlers(ctx), ...(def.handlers?.(ctx) ?? {}) };
  const rpc = createRpcServer({ natsUrl: config.NATS_URL, service: def.name, rpcPrefix: config.RPC_PREFIX, handlers, metrics });
  // The transport runs on its own: it hosts no Nest module (its handlers are registered above), so the Nest
  // application container (@nestjs/core) is not loaded; ~10 MiB of idle memory a service (`pnpm bench:footprint`).
  NestLogger.overrideLogger(['error', 'warn']);
  await new Promise<void>((resolve, reject) => {
    void rpc.listen((err?: unknown) => (err ? reject(err) : resolve()));
  });

  const stopExtra = def.start ? await def.start(ctx) : async () => undefined;

  const health = await startHealthServer({
    port: config.HEALTH_PORT ?? 0,
    metrics,
    checks: {
      nats: async () => {
        const problem = connection.problem();
        if (problem) throw new HealthCheckError('nats', problem);
        await bus.nc.flush().catch((err: unknown) => {
          throw new HealthCheckError('nats', err instanceof Error ? err.message : String(err), { cause: err });
        });
      },
      postgres: async () => {
        await sql`select 1`.execute(db).catch((err: unknown) => {
          throw new HealthCheckError('postgres', err instanceof Error ? err.message : String(err), { cause: err });
        });
      },
      ...Object.fromEntries([...ctx.projections].map(([name, r]) => [`projection:${name}`, () => projectionCheck(name, r)])),
    },
  });
  logger.info('service started', { health_port: health.port, rpc_prefix: config.RPC_PREFIX, stream: config.STREAM_NAME });

  shutdown.add('rpc', () => rpc.close());
  shutdown.add('workers', () => stopExtra());
  shutdown.add('projections', () => Promise.all([...ctx.projections.values()].map((r) => r.stop())));
  shutdown.add('health', () => health.close());
  shutdown.add('nats', () => closeBus(bus));
  shutdown.add('postgres', () => db.destroy());
  shutdown.add('telemetry', () => telemetry.shutdown());
  return ctx;
}

/** Waits for an engine at start-up, retrying with a growing delay (0.5 s → 5 s) and logging each failure. */
async function retryUntilReady<T>(what: string, fn: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      // A migration that fails on a reachable database is a bug, not an outage: stop, naming it.
      if (what === 'migrations' && !isConnectionError(err)) throw err;
      const delay = Math.min(500 * 2 ** (attempt - 1), 5000);
      logger.warn(`${what} not ready at start-up, retrying`, { attempt, retry_in_ms: delay, err: (err as Error).message });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** One projection's line in /readyz: ok, degraded (open dead letters) or a failure naming what is wrong. */
async function projectionCheck(name: string, r: ProjectionRunner): Promise<undefined | { degraded: string }> {
  const s = await r.status();
  if (s.state === 'ok') return;
  if (s.state === 'degraded') return { degraded: s.reason ?? 'degraded' };
  throw new HealthCheckError(`projection:${name}`, `${s.state}: ${s.reason ?? ''}`.trim());
}

/** Operator requests every service answers: projection status, rebuild, dead letters. */
function opsHandlers<DB, C>(ctx: ServiceContext<DB, C>): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(ctx.logger, fn);
  const lagUnknown = ctx.metrics.counter('projection_lag_unknown_total', 'Times a projection lag could not be read for ops', [
    'projection',
  ]);
  // The lag is the stream's last sequence on the projection's filter: NATS away is reported as -1, never a failed listing.
  const lagOf = (name: string, r: ProjectionRunner) =>
    r.lag().catch((err: unknown) => {
      lagUnknown.inc({ projection: name });
      ctx.logger.warn('projection lag unavailable', { projection: name, err });
      return -1;
    });
  return {
    'ops.projections': h(async () => {
      const out = [];
      for (const [name, r] of ctx.projections) {
        const status = await r.status();
        out.push({
          name,
          ...(status.filterSubject ? { filter: status.filterSubject } : {}),
          checkpoint: await r.checkpoint(),
          lag: await lagOf(name, r),
          behind: status.behind,
          state: status.state,
          ...(status.reason ? { reason: status.reason } : {}),
          open_dead_letters: status.openDeadLetters,
          consumers_recreated: status.recreated,
          ...(ctx.rebuilds?.get(name) ? { rebuild: ctx.rebuilds.get(name) } : {}),
        });
      }
      // The service's durable consumers (work queues): their pending count is the lag an operator watches.
      const consumers = (await durableLags((durable, err) => ctx.logger.warn('consumer lag unavailable', { durable, err }))).sort((a, b) =>
        a.durable.localeCompare(b.durable),
      );
      return ok({ data: out, consumers });
    }),
    'ops.rebuild': h(async (req) => {
      const body = req.body as { projection: string; from?: 'start' | 'seq' | 'time'; seq?: number; time?: string; beside?: boolean };
      const r = ctx.projections.get(body.projection);
      if (!r)
        return { ok: false, problem: { type: 'not-found', title: 'Not found', status: 404, detail: `no projection ${body.projection}` } };
      if (body.beside) return ok(startRebuildBeside(ctx, body.projection), 202);
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
    /** Applies a projection's dead-lettered event again (after the cause was fixed); settles it when it applies. */
    'ops.dead-letters.retry': h(async (req) => {
      const id = deadLetterId(req.body);
      const letter = await ctx.deadLetters.get(id);
      if (!letter) throw new NotFoundError(`no dead letter ${id}`);
      const name = letter.consumer.startsWith('projection:') ? letter.consumer.slice('projection:'.length) : undefined;
      const runner = name ? ctx.projections.get(name) : undefined;
      if (!runner && hasWorker(ctx.bus, letter.consumer)) {
        try {
          return ok({
            ...(await retryWorkerDeadLetter({ bus: ctx.bus, deadLetters: ctx.deadLetters, logger: ctx.logger, id })),
            retried: true,
          });
        } catch (err) {
          if (err instanceof DeadLetterRetryError) throw new ValidationError([{ path: 'id', message: err.message }], err.message);
          throw err;
        }
      }
      if (!runner)
        throw new ValidationError(
          [{ path: 'id', message: 'not a projection dead letter' }],
          `dead letter ${id} is neither a projection's nor a worker's of this service (consumer ${letter.consumer}); discard it or replay the event`,
        );
      try {
        await runner.retryDeadLetter(id);
      } catch (err) {
        if (err instanceof DeadLetterRetryError) throw new ValidationError([{ path: 'id', message: err.message }], err.message);
        throw err;
      }
      return ok({ id, retried: true, projection: name });
    }),
    /** Settles a dead letter without applying it: the projection stops reporting it as degraded. */
    'ops.dead-letters.discard': h(async (req) => {
      const id = deadLetterId(req.body);
      if (!(await ctx.deadLetters.discard(id))) throw new NotFoundError(`no open dead letter ${id}`);
      ctx.logger.info('dead letter discarded by an operator', { id });
      return ok({ id, discarded: true });
    }),
  };
}

/** Starts a rebuild beside the live read model in the background; its progress is in `ops.projections`. */
function startRebuildBeside<DB, C>(ctx: ServiceContext<DB, C>, name: string): RebuildProgress {
  const running = ctx.rebuilds?.get(name);
  if (running && (running.state === 'building' || running.state === 'switching'))
    throw new ValidationError(
      [{ path: 'projection', message: 'a rebuild of it is running' }],
      `projection ${name} is being rebuilt already`,
    );
  const rebuild = ctx.rebuilders?.get(name);
  if (!rebuild)
    throw new ValidationError(
      [{ path: 'projection', message: 'declares no tables' }],
      `projection ${name} does not declare its tables, so it cannot be rebuilt beside the live one: rebuild it in place`,
    );
  const first: RebuildProgress = {
    projection: name,
    mode: 'beside',
    state: 'building',
    applied: 0,
    target: 0,
    startedAt: new Date().toISOString(),
    events: 0,
  };
  ctx.rebuilds?.set(name, first);
  void rebuild((p) => ctx.rebuilds?.set(name, p)).catch((err: unknown) =>
    ctx.logger.error('rebuild beside failed (reported in ops projections)', { projection: name, err }),
  );
  return first;
}

function deadLetterId(body: unknown): number {
  const id = Number((body as { id?: unknown } | undefined)?.id);
  if (!Number.isSafeInteger(id) || id < 1)
    throw new ValidationError([{ path: 'id', message: 'must be a dead letter id (a positive integer)' }]);
  return id;
}
