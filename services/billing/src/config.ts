import { z } from 'zod';
import { stripeConfigShape } from './app/stripe-config.ts';

/** Settings of the billing service on top of the base config (CONVENTIONS.md, Code 7). */
export const billingConfigSchema = z.object({
  /** The most buckets one usage query may answer (hours × groups), so a query stays bounded. */
  USAGE_MAX_BUCKETS: z.coerce.number().int().min(24).max(100_000).default(10_000),
  /** Days from finalization to the due date of an invoice. */
  INVOICE_DUE_DAYS: z.coerce.number().int().min(0).max(365).default(30),
  /** The issuer whose gap-free number sequence invoices take, and the number's prefix. */
  INVOICE_ISSUER: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .default('platform'),
  INVOICE_NUMBER_PREFIX: z
    .string()
    .regex(/^[A-Z0-9-]{1,16}$/)
    .default('PEP'),
  /** How often the invoice job closes the last ended month (idempotent); 0 turns the timer off. */
  INVOICE_JOB_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  ...stripeConfigShape,
});
export type BillingSettings = z.output<typeof billingConfigSchema>;
