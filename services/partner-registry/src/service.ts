import type { Projection } from '@pep/events';
import { type ServiceDefinition, runService } from '@pep/service';
import { createCommandBus } from './app/command-bus.ts';
import { registryConfigSchema, type RegistryConfig } from './config.ts';
import { registryMigrations } from './db/migrations/index.ts';
import type { RegistryDB } from './db/schema.ts';
import { registryHandlers } from './handlers/index.ts';
import { applicationsProjection } from './projections/applications/index.ts';
import { partnersProjection } from './projections/partners/index.ts';
import { apiKeysProjection } from './projections/identity-api-keys/index.ts';
import { oauthClientsProjection } from './projections/identity-oauth-clients/index.ts';

export const SERVICE_NAME = 'partner-registry';

/** Read models of the registry, composed per area (each area adds one line). */
export function registryProjections(prefix: string): Projection<RegistryDB>[] {
  return [
    partnersProjection(prefix),
    applicationsProjection(prefix),
    apiKeysProjection<RegistryDB>(prefix),
    oauthClientsProjection<RegistryDB>(prefix),
  ];
}

export const partnerRegistry: ServiceDefinition<RegistryDB, RegistryConfig> = {
  name: SERVICE_NAME,
  configSchema: registryConfigSchema,
  migrations: registryMigrations,
  projections: (ctx) => registryProjections(ctx.config.SUBJECT_PREFIX),
  handlers: (ctx) =>
    registryHandlers({
      db: ctx.db,
      config: ctx.config,
      logger: ctx.logger,
      now: () => new Date(),
      bus: ctx.bus,
      commands: createCommandBus({ bus: ctx.bus, logger: ctx.logger, projections: ctx.projections }),
    }),
};

export function startPartnerRegistry() {
  return runService(partnerRegistry);
}
