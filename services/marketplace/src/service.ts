import type { Projection } from '@pep/events';
import { runService, type ServiceContext, type ServiceDefinition, perContext } from '@pep/service';
import { createCategoryUseCases } from './app/categories.ts';
import { createInstallUseCases } from './app/installs.ts';
import { createListingUseCases } from './app/listings.ts';
import { createReviewUseCases } from './app/reviews.ts';
import { startIntegrationEvents } from './app/integration-events.ts';
import { marketplaceConfigSchema, type MarketplaceSettings } from './config.ts';
import { marketplaceMigrations } from './db/migrations/index.ts';
import type { MarketplaceDB } from './db/schema.ts';
import { marketplaceHandlers } from './handlers/index.ts';
import { categoriesProjection } from './projections/categories/index.ts';
import { catalogProjection } from './projections/catalog/index.ts';
import { installsProjection } from './projections/installs/index.ts';
import { integrationHealthProjection } from './projections/integration-health/index.ts';
import { reviewsProjection } from './projections/reviews/index.ts';

export const SERVICE_NAME = 'marketplace';

/** Read models of the marketplace (each rebuildable from the stream: `pnpm ops rebuild`). */
export function marketplaceProjections(prefix: string): Projection<MarketplaceDB>[] {
  return [
    catalogProjection(prefix),
    installsProjection(prefix),
    reviewsProjection(prefix),
    categoriesProjection(prefix),
    integrationHealthProjection(prefix),
  ];
}

type Ctx = ServiceContext<MarketplaceDB, MarketplaceSettings>;

/** What handlers and the worker share in one process (built once per service context). */
export function createMarketplaceRuntime(ctx: Pick<Ctx, 'bus' | 'db' | 'config' | 'logger' | 'projections' | 'deadLetters'>) {
  const now = () => new Date();
  const deps = { bus: ctx.bus, db: ctx.db, logger: ctx.logger, projections: ctx.projections, now };
  const installs = createInstallUseCases(deps);
  const reviews = createReviewUseCases(deps);
  const listings = createListingUseCases(deps);
  const categories = createCategoryUseCases(deps);
  const startBackground = async () => {
    if (ctx.config.MARKETPLACE_SEED_CATEGORIES) {
      // The seed is a convenience: a failure is logged and retried at the next start, the service still serves.
      await categories.seed().then(
        (defined) => defined > 0 && ctx.logger.info('seed categories defined', { defined }),
        (err: unknown) => ctx.logger.warn('seed categories could not be defined; retried at the next start', { err }),
      );
    }
    const worker = await startIntegrationEvents({
      bus: ctx.bus,
      logger: ctx.logger,
      deadLetters: ctx.deadLetters,
      concurrency: ctx.config.MARKETPLACE_WORKER_CONCURRENCY,
    });
    return () => worker.stop();
  };
  const handlers = marketplaceHandlers({ db: ctx.db, logger: ctx.logger, installs, reviews, listings, categories, now });
  return { installs, categories, handlers, startBackground };
}

const runtimeOf = perContext(createMarketplaceRuntime);

export const marketplace: ServiceDefinition<MarketplaceDB, MarketplaceSettings> = {
  name: SERVICE_NAME,
  configSchema: marketplaceConfigSchema,
  migrations: marketplaceMigrations,
  projections: (ctx) => marketplaceProjections(ctx.config.SUBJECT_PREFIX),
  handlers: (ctx) => runtimeOf(ctx).handlers,
  start: (ctx) => runtimeOf(ctx).startBackground(),
};

export function startMarketplace() {
  return runService(marketplace);
}
