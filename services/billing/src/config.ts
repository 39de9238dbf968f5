import { z } from 'zod';

/** Settings of the billing service on top of the base config (CONVENTIONS.md, Code 7). */
export const billingConfigSchema = z.object({
  /** The most buckets one usage query may answer (hours × groups), so a query stays bounded. */
  USAGE_MAX_BUCKETS: z.coerce.number().int().min(24).max(100_000).default(10_000),
});
export type BillingSettings = z.output<typeof billingConfigSchema>;
