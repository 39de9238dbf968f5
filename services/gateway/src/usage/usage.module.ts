import { aggregateSubject, type EventBus, publishEvent } from '@pep/events';
import { type Logger, loadConfig } from '@pep/runtime';
import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { z } from 'zod';
import type { GatewayConfig } from '../config.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { BUS, CONFIG, LOGGER, METRICS } from '../tokens.ts';
import { type ApiUsageRollup, createApiUsageRollup, replicaId } from './api-usage-rollup.ts';

export const API_USAGE_ROLLUP = Symbol('gateway.api-usage-rollup');

export const usageConfigSchema = z.object({
  /** The replica id in `api_usage.rolled_up` (default: the host name); two replicas must not share one. */
  GATEWAY_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,56}$/, 'letters, digits, "_" and "-" (1-56)')
    .optional(),
});

/**
 * Per-partner, per-minute API usage rollups for billing and integration metrics. Global: the request pipeline
 * records into it. Appended on minute boundaries and when the application shuts down (after the HTTP server has
 * finished its in-flight requests, before the bus closes).
 */
@Global()
@Module({
  providers: [
    {
      provide: API_USAGE_ROLLUP,
      inject: [CONFIG, LOGGER, BUS, METRICS],
      useFactory: (cfg: GatewayConfig, logger: Logger, bus: EventBus, metrics: GatewayMetrics) => {
        const { GATEWAY_REPLICA_ID } = loadConfig(usageConfigSchema);
        return createApiUsageRollup({
          reporter: replicaId(GATEWAY_REPLICA_ID),
          logger: logger.child({ component: 'api-usage' }),
          onFailure: () => metrics.backgroundFailures.inc({ what: 'api_usage_rollup' }),
          publish: (event, partnerId) => publishEvent(bus, aggregateSubject(cfg.SUBJECT_PREFIX, 'api_usage', partnerId), event),
        });
      },
    },
  ],
  exports: [API_USAGE_ROLLUP],
})
export class UsageModule implements OnApplicationShutdown {
  constructor(@Inject(API_USAGE_ROLLUP) private readonly rollup: ApiUsageRollup) {}

  async onApplicationShutdown(): Promise<void> {
    await this.rollup.stop();
  }
}
