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
  /** The issuer's name on invoice PDFs and mails. */
  INVOICE_ISSUER_NAME: z.string().min(1).max(200).default('Partner Event Platform'),
  /** Mail (invoices, failed payments, executive report) goes through billing's outbox; off when SMTP_URL is unset. */
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().min(3).default('Partner Platform Billing <billing@partner-platform.dev>'),
  /** The most mails the outbox sends per minute (per process). */
  MAIL_SEND_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(60),
  /** First retry delay after a refused send; it doubles per attempt (capped at an hour). */
  MAIL_RETRY_BASE_MS: z.coerce.number().int().min(10).default(30_000),
  /** Attempts before a mail is given up (status failed, kept for the operator). */
  MAIL_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  MAIL_OUTBOX_POLL_MS: z.coerce.number().int().min(10).default(1_000),
  /** Comma-separated addresses the monthly executive report goes to (empty: no report mail). */
  EXECUTIVE_REPORT_RECIPIENTS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.email()).max(50)),
  ...stripeConfigShape,
});
export type BillingSettings = z.output<typeof billingConfigSchema>;
