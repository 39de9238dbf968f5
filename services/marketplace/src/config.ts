import { z } from 'zod';

/** Settings of the marketplace on top of the base config (CONVENTIONS.md, Code 7). */
export const marketplaceConfigSchema = z.object({
  /** Messages the integration-events worker handles at once. */
  MARKETPLACE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(16),
  /** Define the seed categories (docs/marketplace.md) at start when an admin never defined them. */
  MARKETPLACE_SEED_CATEGORIES: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});
export type MarketplaceSettings = z.output<typeof marketplaceConfigSchema>;
