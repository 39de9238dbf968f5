import type { Projection } from '@pep/events';
import { createCommandBus } from '@pep/events';
import { type ServiceContext, type ServiceDefinition, runService } from '@pep/service';
import { type BillingSettings, billingConfigSchema } from './config.ts';
import { billingMigrations } from './db/migrations/index.ts';
import type { BillingDB } from './db/schema.ts';
import { billingHandlers } from './handlers/index.ts';
import { plansProjection } from './projections/plans/index.ts';
import { reportedUsageProjection } from './projections/reported-usage/index.ts';
import { subscriptionsProjection } from './projections/subscriptions/index.ts';
import { usageProjection } from './projections/usage/index.ts';

export const SERVICE_NAME = 'billing';

export function billingProjections(prefix: string): Projection<BillingDB>[] {
  return [usageProjection(prefix), reportedUsageProjection(prefix), plansProjection(prefix), subscriptionsProjection(prefix)];
}

type Ctx = ServiceContext<BillingDB, BillingSettings>;

export function billingService(): ServiceDefinition<BillingDB, BillingSettings> {
  return {
    name: SERVICE_NAME,
    configSchema: billingConfigSchema,
    migrations: billingMigrations,
    projections: (ctx: Ctx) => billingProjections(ctx.config.SUBJECT_PREFIX),
    handlers: (ctx: Ctx) => {
      const commands = createCommandBus({ bus: ctx.bus, logger: ctx.logger, projections: ctx.projections, source: 'urn:pep:billing' });
      return billingHandlers({
        db: ctx.db,
        logger: ctx.logger,
        commands,
        now: () => new Date(),
        maxBuckets: ctx.config.USAGE_MAX_BUCKETS,
      });
    },
  };
}

export function startBilling() {
  return runService(billingService());
}
