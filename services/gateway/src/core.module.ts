import type { EventBus } from '@pep/events';
import type { Logger } from '@pep/runtime';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ClientNats } from '@nestjs/microservices';
import type { Kysely } from 'kysely';
import type { GatewayConfig } from './config.ts';
import type { GatewayDB } from './db/schema.ts';
import type { GatewayMetrics } from './ops/gateway-metrics.ts';
import { BUS, CONFIG, DB, LOGGER, METRICS, RPC_CLIENT } from './tokens.ts';

/** The process-wide resources main.ts opens before Nest starts (and closes after it stops). */
export interface GatewayResources {
  config: GatewayConfig;
  logger: Logger;
  metrics: GatewayMetrics;
  bus: EventBus;
  db: Kysely<GatewayDB>;
  rpc: ClientNats;
}

@Global()
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static factory
export class CoreModule {
  static forRoot(r: GatewayResources): DynamicModule {
    const providers = [
      { provide: CONFIG, useValue: r.config },
      { provide: LOGGER, useValue: r.logger },
      { provide: METRICS, useValue: r.metrics },
      { provide: BUS, useValue: r.bus },
      { provide: DB, useValue: r.db },
      { provide: RPC_CLIENT, useValue: r.rpc },
    ];
    return { module: CoreModule, providers, exports: providers.map((p) => p.provide) };
  }
}
