import type { EventBus } from '@pep/events';
import { type Logger, loadConfig } from '@pep/runtime';
import { Global, Inject, Module, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { ApiKeyStrategy } from '../auth/api-key.strategy.ts';
import { AuthService } from '../auth/auth.service.ts';
import type { GatewayConfig } from '../config.ts';
import type { GatewayDB } from '../db/schema.ts';
import { requestService, rpcSubject } from '../routing/rpc-client.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { BUS, CONFIG, DB, LOGGER, METRICS, RPC_CLIENT } from '../tokens.ts';
import { type IdentityStore, startIdentityStore } from './identity-projection.ts';
import { IDENTITY_STORE, USAGE_RECORDER } from './identity-tokens.ts';
import { createUsageRecorder, type UsageRecorder } from './usage-recorder.ts';

export const identityConfigSchema = z.object({
  /** How often the buffered last-used times of API keys go to the registry. */
  IDENTITY_USAGE_FLUSH_MS: z.coerce.number().int().min(100).default(5000),
});

/**
 * The gateway's identity state (partners, API keys, OAuth clients folded from the stream, in memory and in
 * its database) and the API-key strategy that authenticates from it. Global: the JWT strategy, the OAuth
 * server and the rate limiter read the same state.
 */
@Global()
@Module({
  providers: [
    {
      provide: IDENTITY_STORE,
      inject: [BUS, DB, LOGGER, METRICS],
      useFactory: async (bus: EventBus, db: Kysely<GatewayDB>, logger: Logger, metrics: GatewayMetrics) => {
        const store = await startIdentityStore({
          bus,
          db,
          logger: logger.child({ component: 'identity' }),
          onRecreate: (projection, reason) => metrics.consumerRecreated.inc({ projection, reason }),
          onFailure: (what) => metrics.backgroundFailures.inc({ what }),
        });
        await store.waitFor(undefined, 60_000);
        return store;
      },
    },
    {
      provide: USAGE_RECORDER,
      inject: [CONFIG, LOGGER, RPC_CLIENT],
      useFactory: (cfg: GatewayConfig, logger: Logger, client: ClientNats) => {
        const { IDENTITY_USAGE_FLUSH_MS } = loadConfig(identityConfigSchema);
        const subject = (pattern: string) => rpcSubject(cfg.RPC_PREFIX, 'partner-registry', pattern);
        return createUsageRecorder({
          flushMs: IDENTITY_USAGE_FLUSH_MS,
          logger,
          send: (pattern, body, principal) =>
            requestService(client, {
              subject: subject(pattern),
              service: 'partner-registry',
              timeoutMs: 10_000,
              request: { principal, params: {}, query: {}, body, request_id: `usage_${Date.now()}` },
            }),
        });
      },
    },
  ],
  exports: [IDENTITY_STORE, USAGE_RECORDER],
})
export class IdentityModule implements OnModuleInit, OnModuleDestroy {
  constructor(
    @Inject(AuthService) private readonly auth: AuthService,
    @Inject(IDENTITY_STORE) private readonly store: IdentityStore,
    @Inject(USAGE_RECORDER) private readonly usage: UsageRecorder,
  ) {}

  onModuleInit(): void {
    this.auth.register(new ApiKeyStrategy(this.store, (use, now) => this.usage.record(use.key.id, now)));
  }

  async onModuleDestroy(): Promise<void> {
    await this.usage.stop();
    await this.store.stop();
  }
}
