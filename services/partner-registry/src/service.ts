import type { Projection } from '@pep/events';
import { type RpcHandler, runService, type ServiceContext, type ServiceDefinition, perContext } from '@pep/service';
import { createMailer } from '@pep/mailer';
import { createCommandBus } from './app/command-bus.ts';
import { startHealthChecker } from './app/health-checker.ts';
import { createHealthProbe } from './app/health-probe.ts';
import { createIntegrationChecker } from './app/integration-health.ts';
import { createUrlSafety } from './app/url-safety.ts';
import { type RegistryConfig, registryConfigSchema } from './config.ts';
import { registryMigrations } from './db/migrations/index.ts';
import type { RegistryDB } from './db/schema.ts';
import { applicationHandlers } from './handlers/applications.ts';
import type { HandlerDeps } from './handlers/deps.ts';
import { identityHandlers } from './handlers/identity.ts';
import { integrationHandlers } from './handlers/integrations.ts';
import { integrationTrafficHandlers } from './handlers/integrations-traffic.ts';
import { partnerHandlers } from './handlers/partners.ts';
import { ticketHandlers } from './handlers/tickets.ts';
import { accountHandlers } from './handlers/accounts.ts';
import { applicationsProjection } from './projections/applications/index.ts';
import { apiKeysProjection } from './projections/identity-api-keys/index.ts';
import { oauthClientsProjection } from './projections/identity-oauth-clients/index.ts';
import { integrationsProjection } from './projections/integrations/index.ts';
import { integrationTrafficProjection } from './projections/integration-traffic/index.ts';
import { recentTraffic } from './projections/integration-traffic/queries.ts';
import { startNotifications } from './notifications/notifier.ts';
import { partnersProjection } from './projections/partners/index.ts';
import { ticketsProjection } from './projections/tickets/index.ts';
import { partnerUsersProjection } from './projections/partner-users/index.ts';
import { statsProjection } from './projections/stats/index.ts';
import { statsHandlers } from './handlers/stats.ts';
import { seedPortalUsers } from './app/seed-users.ts';

export const SERVICE_NAME = 'partner-registry';

/** Read models of the registry, composed per area (each area adds one line). */
export function registryProjections(prefix: string): Projection<RegistryDB>[] {
  return [
    partnersProjection(prefix),
    applicationsProjection(prefix),
    integrationsProjection(prefix),
    integrationTrafficProjection(prefix),
    ticketsProjection(prefix),
    apiKeysProjection(prefix),
    oauthClientsProjection(prefix),
    partnerUsersProjection(prefix),
    statsProjection(prefix),
  ];
}

/** Every RPC handler of the registry, composed per area (each area adds one line; no handler imports another). */
export function registryHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  return {
    ...partnerHandlers(deps),
    ...applicationHandlers(deps),
    ...integrationHandlers(deps),
    ...integrationTrafficHandlers(deps),
    ...ticketHandlers(deps),
    ...identityHandlers(deps),
    ...accountHandlers(deps),
    ...statsHandlers(deps),
  };
}

type Ctx = ServiceContext<RegistryDB, RegistryConfig>;

/** What handlers and background work share in one process (built once per service context). */
export function createRegistryRuntime(
  ctx: Pick<Ctx, 'bus' | 'db' | 'config' | 'logger' | 'projections' | 'deadLetters'> & { metrics?: Ctx['metrics'] },
) {
  const now = () => new Date();
  const commands = createCommandBus({ bus: ctx.bus, logger: ctx.logger, projections: ctx.projections });
  const drainErrors = ctx.metrics?.counter(
    'integration_health_drain_errors_total',
    'Health-check responses whose body could not be read to the end (the status was recorded)',
  );
  const health = createHealthProbe(createUrlSafety(ctx.config).policy, ctx.config.INTEGRATION_HEALTH_TIMEOUT_MS, (err) => {
    drainErrors?.inc();
    ctx.logger.warn('health check response body could not be drained', { err });
  });
  const mailer = ctx.config.SMTP_URL
    ? createMailer({ SMTP_URL: ctx.config.SMTP_URL, MAIL_FROM: ctx.config.MAIL_FROM }, ctx.metrics)
    : undefined;
  const deps: HandlerDeps = {
    db: ctx.db,
    config: ctx.config,
    logger: ctx.logger,
    now,
    bus: ctx.bus,
    commands,
    probe: health.probe,
    mailer,
  };
  const checkIntegration = createIntegrationChecker(commands, ctx.config, now, (id, since) => recentTraffic(ctx.db, id, since));

  let notifications: Awaited<ReturnType<typeof startNotifications>> | undefined;
  /** Background work: scheduled integration health checks, partner emails. Returns the stop function. */
  const startBackground = async () => {
    await seedPortalUsers(deps);
    if (mailer) {
      // One mailer per process: partner emails and account emails share it (and its email_messages_total).
      notifications = await startNotifications({
        bus: ctx.bus,
        db: ctx.db,
        commands,
        mailer,
        logger: ctx.logger,
        deadLetters: ctx.deadLetters,
        keyExpiryWarningDays: ctx.config.KEY_EXPIRY_WARNING_DAYS,
        keyExpiryScanIntervalMs: ctx.config.KEY_EXPIRY_SCAN_INTERVAL_MS,
        now,
      });
    } else {
      ctx.logger.info('partner emails are off (SMTP_URL is not set)');
    }
    const checker = startHealthChecker({
      db: ctx.db,
      logger: ctx.logger,
      settings: { intervalMs: ctx.config.INTEGRATION_HEALTH_INTERVAL_MS, concurrency: ctx.config.INTEGRATION_HEALTH_CONCURRENCY },
      check: (id) => checkIntegration(id, health.probe),
    });
    return async () => {
      await checker.stop();
      await notifications?.stop();
      await health.close();
      mailer?.close();
    };
  };
  return { deps, commands, handlers: registryHandlers(deps), startBackground, notifications: () => notifications };
}

const runtimeOf = perContext(createRegistryRuntime);

export const partnerRegistry: ServiceDefinition<RegistryDB, RegistryConfig> = {
  name: SERVICE_NAME,
  configSchema: registryConfigSchema,
  migrations: registryMigrations,
  projections: (ctx) => registryProjections(ctx.config.SUBJECT_PREFIX),
  handlers: (ctx) => runtimeOf(ctx).handlers,
  start: (ctx) => runtimeOf(ctx).startBackground(),
};

export function startPartnerRegistry() {
  return runService(partnerRegistry);
}
