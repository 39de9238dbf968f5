import { randomUUID } from 'node:crypto';
import type { Projection } from '@pep/events';
import { handler, ok, type ServiceContext, type ServiceDefinition, runService, perContext } from '@pep/service';
import { createActionClaims } from './app/action-claims.ts';
import { createAggregates } from './app/aggregates.ts';
import { createExecutor } from './app/executor.ts';
import { rollbackMetrics } from './app/rollback-metrics.ts';
import { createIncidentUseCases } from './app/incidents.ts';
import { createNotifier } from './app/notifier.ts';
import { createPolicyUseCases } from './app/policies.ts';
import { createIntakeLimiter } from './app/rate-limit.ts';
import { policySecretsReport, secretsKeyring } from './app/secrets.ts';
import { SERVICE, startReactions } from './app/reactions.ts';
import { orchestratorConfigSchema, type OrchestratorSettings } from './config.ts';
import { orchestratorMigrations } from './db/migrations/index.ts';
import type { OrchestratorDB } from './db/schema.ts';
import { orchestratorHandlers } from './handlers/index.ts';
import { incidentsProjection } from './projections/incidents/index.ts';
import { listPolicies, policiesProjection } from './projections/policies/index.ts';
import { flagChangesProjection } from './projections/flag-changes/index.ts';
import { githubMergesProjection } from './projections/github-merges/index.ts';
import { runsProjection } from './projections/runs/index.ts';
import { createOutbound } from './providers/http.ts';

export const SERVICE_NAME = SERVICE;

export function orchestratorProjections(prefix: string): Projection<OrchestratorDB>[] {
  return [
    incidentsProjection(prefix),
    runsProjection(prefix),
    policiesProjection(prefix),
    githubMergesProjection(prefix),
    flagChangesProjection(prefix),
  ];
}

type Ctx = ServiceContext<OrchestratorDB, OrchestratorSettings>;

/** Everything the handlers and the workers share, built once per process. */
function wire(ctx: Ctx) {
  const c = ctx.config;
  const now = () => new Date();
  const limiterUnavailable = ctx.metrics.counter(
    'rollback_rate_limiter_unavailable_total',
    'Redis errors of the incident rate limiter, and incidents let through unchecked because of them',
    ['what'],
  );
  const aggregates = createAggregates({ bus: ctx.bus, logger: ctx.logger, projections: ctx.projections });
  const outbound = createOutbound({ allowlist: c.OUTBOUND_ALLOWLIST, httpsOnly: c.OUTBOUND_HTTPS_ONLY });
  const keyring = secretsKeyring(c);
  const unreadable = ctx.metrics.counter(
    'rollback_secrets_unreadable_total',
    'Policy secrets the keyring could not decrypt (their action was skipped)',
  );
  unreadable.inc({}, 0);
  const executor = createExecutor({
    db: ctx.db,
    aggregates,
    claims: createActionClaims(ctx.db, `${SERVICE}-${process.pid}-${randomUUID().slice(0, 8)}`),
    outbound,
    nc: ctx.bus.nc,
    rpcPrefix: c.RPC_PREFIX,
    secretsKey: keyring,
    logger: ctx.logger,
    onUnreadableSecret: () => unreadable.inc(),
    onOutcome: rollbackMetrics(ctx.metrics),
    settings: c,
  });
  return {
    aggregates,
    outbound,
    executor,
    incidents: createIncidentUseCases({
      db: ctx.db,
      aggregates,
      actionTimeoutMs: c.ACTION_TIMEOUT_MS,
      onExecutable: (key, plan, policy) => executor.startPlanned(key, plan, policy),
    }),
    keyring,
    policies: createPolicyUseCases({ aggregates, secretsKey: keyring, outbound: outbound.policy }),
    limiter: createIntakeLimiter({
      url: c.REDIS_URL,
      limitPerMinute: c.INCIDENT_RATE_LIMIT_PER_MIN,
      logger: ctx.logger,
      prefix: c.SUBJECT_PREFIX,
      onUnavailable: (what) => limiterUnavailable.inc({ what }),
    }),
    notifier: createNotifier({ db: ctx.db, smtpUrl: c.SMTP_URL, from: c.MAIL_FROM, logger: ctx.logger, metrics: ctx.metrics }),
    now,
  };
}

export function orchestratorService(): ServiceDefinition<OrchestratorDB, OrchestratorSettings> {
  const get = perContext(wire);
  return {
    name: SERVICE_NAME,
    configSchema: orchestratorConfigSchema,
    migrations: orchestratorMigrations,
    projections: (ctx) => orchestratorProjections(ctx.config.SUBJECT_PREFIX),
    handlers: (ctx) => {
      const w = get(ctx);
      return {
        ...orchestratorHandlers({
          db: ctx.db,
          logger: ctx.logger,
          incidents: w.incidents,
          policies: w.policies,
          limiter: w.limiter,
          now: w.now,
        }),
        /** Operator: which policy secrets the keyring cannot open, and which are not under the current key. */
        'ops.secrets.status': handler(ctx.logger, async () => {
          const rows = await listPolicies(ctx.db, { partnerId: undefined, limit: 100_000 });
          return ok(
            policySecretsReport(
              rows.map((r) => r.policy),
              w.keyring,
            ),
          );
        }),
      };
    },
    start: async (ctx) => {
      const w = get(ctx);
      const workers = await startReactions({
        bus: ctx.bus,
        db: ctx.db,
        logger: ctx.logger,
        executor: w.executor,
        incidents: w.incidents,
        notifier: w.notifier,
        concurrency: ctx.config.RUN_CONCURRENCY,
        ackWaitMs: ctx.config.RUN_ACK_WAIT_MS,
      });
      return async () => {
        await Promise.all(workers.map((x) => x.stop()));
        await w.limiter.close();
        await w.outbound.close();
        w.notifier.close();
      };
    },
  };
}

export function startRollbackOrchestrator() {
  return runService(orchestratorService());
}
