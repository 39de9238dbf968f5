import type { BaseConfig } from '@pep/runtime';
import { parseAllowlist } from '@pep/webhooks';
import { createCommandBus } from '@pep/events';
import { runService, type ServiceContext, type ServiceDefinition, perContext } from '@pep/service';
import { deliveryLog } from './app/delivery-log.ts';
import { endpointAdmin } from './app/endpoint-admin.ts';
import { endpointCommands } from './app/endpoints.ts';
import { secretKeys } from './app/secret-keys.ts';
import { type DispatcherConfig, dispatcherConfigSchema, secretKeyring } from './config.ts';
import { dispatcherMigrations } from './db/migrations/index.ts';
import type { DispatcherDB } from './db/schema.ts';
import { systemClock } from './dispatch/clock.ts';
import { startDispatcher } from './dispatch/dispatcher.ts';
import { EndpointCache } from './dispatch/endpoint-cache.ts';
import { maxAttempts, type RetryPolicy } from './dispatch/retry-policy.ts';
import { dispatcherHandlers } from './handlers/index.ts';
import { startJobRunner } from './jobs/job-runner.ts';
import { ENDPOINTS_PROJECTION, endpointsProjection } from './projections/endpoints/index.ts';
import { registerOutboxMetrics } from './dispatch/outbox-metrics.ts';
import { integrationMappingsProjection, MappingCache } from './projections/integration-mappings/index.ts';

export const SERVICE_NAME = 'webhook-dispatcher';

function policies(cfg: BaseConfig & DispatcherConfig) {
  const retry: RetryPolicy = {
    delaysMs: cfg.WEBHOOK_RETRY_DELAYS_MS,
    jitter: cfg.WEBHOOK_RETRY_JITTER,
    retryAfterMaxMs: cfg.WEBHOOK_RETRY_AFTER_MAX_MS,
  };
  return {
    retry,
    ssrf: { allow: parseAllowlist(cfg.WEBHOOK_SSRF_ALLOWLIST), httpsOnly: cfg.WEBHOOK_HTTPS_ONLY },
    key: secretKeyring(cfg),
  };
}

type Ctx = ServiceContext<DispatcherDB, DispatcherConfig>;

/**
 * One runtime per service context: the handlers and the background work (dispatcher, jobs) share it, so a
 * handler reaches the jobs it creates through it (the way every service wires handlers to background work).
 */
function createDispatcherRuntime(ctx: Ctx) {
  const cfg = ctx.config;
  const { retry, ssrf, key } = policies(cfg);
  const now = () => new Date(systemClock());
  const commands = endpointCommands(
    createCommandBus({ bus: ctx.bus, logger: ctx.logger, projections: ctx.projections, source: SERVICE_NAME, now }),
  );
  /** Set once the job runner runs; a job created before that is picked up by its first poll. */
  let nudgeJobs = () => {};
  const handlers = dispatcherHandlers({
    logger: ctx.logger,
    secretKey: key,
    endpoints: endpointAdmin({
      db: ctx.db,
      commands,
      secretKey: key,
      ssrf,
      defaultTimeoutMs: cfg.WEBHOOK_DEFAULT_TIMEOUT_MS,
      secretGraceMs: cfg.WEBHOOK_SECRET_GRACE_MS,
      now,
    }),
    log: deliveryLog({ db: ctx.db, now, onJobCreated: () => nudgeJobs() }),
    keys: secretKeys({ db: ctx.db, logger: ctx.logger, commands, secretKey: key, now }),
  });
  const startBackground = async () => {
    const unreadableSecrets = ctx.metrics.counter(
      'webhook_endpoint_secrets_unreadable_total',
      'Endpoint secrets that could not be decrypted with the configured keys (the endpoint is skipped)',
      ['which'],
    );
    const cache: EndpointCache = new EndpointCache(ctx.db, key, {
      logger: ctx.logger,
      onUnreadable: (u) => unreadableSecrets.inc({ which: u.which }),
    });
    ctx.metrics.gauge(
      'webhook_endpoints_unreadable',
      'Endpoints left out of dispatch because their secret cannot be decrypted',
      [],
      function (this: { set(v: number): void }) {
        this.set(cache.unreadable().length);
      },
    );
    await cache.refresh();
    registerOutboxMetrics(ctx.metrics, ctx.db, ctx.logger);
    const mappings = new MappingCache(ctx.db, ctx.logger);
    await mappings.refresh();
    // Mapping changes reach deliveries within a refresh period (plus the projection's lag).
    const mappingRefresh = setInterval(() => {
      mappings.refresh().catch((err) => ctx.logger.warn('refreshing integration mappings failed; it runs again', { err }));
    }, cfg.WEBHOOK_MAPPING_REFRESH_MS);
    // Loaded only when shared limits are on: ioredis is not carried by a dispatcher that does not use it.
    const sharedRate = cfg.WEBHOOK_REDIS_URL
      ? new (await import('./dispatch/shared-rate-limiter.ts')).SharedRateLimiter(
          cfg.WEBHOOK_REDIS_URL,
          cfg.WEBHOOK_RATE_LIMIT_PREFIX,
          ctx.logger,
          {
            clock: systemClock,
            failures: ctx.metrics.counter('webhook_rate_limit_redis_failures_total', 'Shared rate-limit requests Redis did not answer'),
          },
        )
      : undefined;
    const dispatcher = await startDispatcher({
      db: ctx.db,
      bus: ctx.bus,
      logger: ctx.logger,
      metrics: ctx.metrics,
      cache,
      commands,
      clock: systemClock,
      deadLetters: ctx.deadLetters,
      endpointsProjection: () => ctx.projections.get(ENDPOINTS_PROJECTION),
      ssrf,
      retry,
      consumer: { durable: cfg.WEBHOOK_CONSUMER, ackWaitMs: cfg.WEBHOOK_ACK_WAIT_MS, deliverPolicy: cfg.WEBHOOK_DELIVER_POLICY },
      endpointConcurrency: cfg.WEBHOOK_ENDPOINT_CONCURRENCY,
      maxInFlight: cfg.WEBHOOK_MAX_IN_FLIGHT,
      pollMs: cfg.WEBHOOK_POLL_MS,
      maintenanceMs: cfg.WEBHOOK_MAINTENANCE_MS,
      leaseExtraMs: cfg.WEBHOOK_LEASE_EXTRA_MS,
      disableAfterMs: cfg.WEBHOOK_DISABLE_AFTER_MS,
      breaker: {
        windowMs: cfg.WEBHOOK_BREAKER_WINDOW_MS,
        minRequests: cfg.WEBHOOK_BREAKER_MIN_REQUESTS,
        failureRatio: cfg.WEBHOOK_BREAKER_FAILURE_RATIO,
        openMs: cfg.WEBHOOK_BREAKER_OPEN_MS,
      },
      sharedRate,
      mappings,
      reporter: cfg.WEBHOOK_REPLICA_ID,
    });
    const jobs = startJobRunner({
      db: ctx.db,
      bus: ctx.bus,
      cache,
      logger: ctx.logger,
      attemptBudget: maxAttempts(retry),
      onDeliveriesDue: () => dispatcher.nudge(),
    });
    nudgeJobs = () => jobs.nudge();
    return async () => {
      clearInterval(mappingRefresh);
      await jobs.stop();
      await dispatcher.stop();
      await sharedRate?.close();
    };
  };
  return { handlers, startBackground };
}

const runtimeOf = perContext(createDispatcherRuntime);

export const webhookDispatcher: ServiceDefinition<DispatcherDB, DispatcherConfig> = {
  name: SERVICE_NAME,
  configSchema: dispatcherConfigSchema,
  migrations: dispatcherMigrations,
  projections: (ctx) => [endpointsProjection(ctx.config.SUBJECT_PREFIX), integrationMappingsProjection(ctx.config.SUBJECT_PREFIX)],
  handlers: (ctx) => runtimeOf(ctx).handlers,
  start: (ctx) => runtimeOf(ctx).startBackground(),
};

export function startWebhookDispatcher() {
  return runService(webhookDispatcher);
}
