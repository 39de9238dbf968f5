import type { Projection } from '@pep/events';
import { type ServiceContext, type ServiceDefinition, runService } from '@pep/service';
import { Webhooks } from '@octokit/webhooks';
import { createWebhookIngress } from './app/ingress.ts';
import { createReverts } from './app/reverts.ts';
import { bridgeMetrics } from './app/bridge-metrics.ts';
import { startTranslator } from './app/translator.ts';
import { bridgeConfigSchema, type BridgeSettings } from './config.ts';
import { bridgeMigrations } from './db/migrations/index.ts';
import type { BridgeDB } from './db/schema.ts';
import { createGithubClient } from './github/client.ts';
import { bridgeHandlers } from './handlers/index.ts';
import { insightsProjection } from './projections/insights/index.ts';
import { installationsProjection } from './projections/installations/index.ts';

export const SERVICE_NAME = 'github-bridge';

export function bridgeProjections(prefix: string): Projection<BridgeDB>[] {
  return [insightsProjection(prefix), installationsProjection(prefix)];
}

type Ctx = ServiceContext<BridgeDB, BridgeSettings>;

export function bridgeService(): ServiceDefinition<BridgeDB, BridgeSettings> {
  return {
    name: SERVICE_NAME,
    configSchema: bridgeConfigSchema,
    migrations: bridgeMigrations,
    projections: (ctx) => bridgeProjections(ctx.config.SUBJECT_PREFIX),
    handlers: (ctx: Ctx) => {
      const now = () => new Date();
      const verifyErrors = ctx.metrics.counter(
        'github_webhook_signature_errors_total',
        'Webhook deliveries whose signature check threw (refused as unauthenticated)',
      );
      const github = createGithubClient({
        apiUrl: ctx.config.GITHUB_API_URL,
        appId: ctx.config.GITHUB_APP_ID,
        privateKeyPem: ctx.config.GITHUB_PRIVATE_KEY,
        refreshMarginSec: ctx.config.GITHUB_TOKEN_REFRESH_MARGIN_S,
        maxRateWaitMs: ctx.config.GITHUB_MAX_RATE_WAIT_MS,
        logger: ctx.logger,
        onRateLimit: bridgeMetrics(ctx.metrics).rateLimit,
      });
      return bridgeHandlers({
        db: ctx.db,
        logger: ctx.logger,
        now,
        ingress: createWebhookIngress({
          db: ctx.db,
          bus: ctx.bus,
          logger: ctx.logger,
          webhooks: new Webhooks({ secret: ctx.config.GITHUB_WEBHOOK_SECRET }),
          now,
          onVerifyError: () => verifyErrors.inc(),
        }),
        reverts: createReverts({ bus: ctx.bus, github, revertTimeoutMs: ctx.config.GITHUB_REVERT_TIMEOUT_MS, now }),
      });
    },
    start: async (ctx) => {
      const translator = await startTranslator({
        bus: ctx.bus,
        db: ctx.db,
        logger: ctx.logger,
        onProcessed: bridgeMetrics(ctx.metrics).processed,
      });
      return () => translator.stop();
    },
  };
}

export function startGithubBridge() {
  return runService(bridgeService());
}
