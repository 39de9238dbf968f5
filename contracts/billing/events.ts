import { z } from 'zod';
import { safeDate, safeDatetime, safeJson, safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { MeterSchema } from './meters.ts';
import { PlanDefinitionSchema, PlanIntervalSchema } from './plans.ts';

/** Domain events of the billing service (it owns meters, plans, subscriptions) and the usage rollups it meters. */
export const BillingMeterCreated = defineEvent({
  origin: 'domain',
  aggregate: 'billing_meter',
  category: 'billing',
  type: 'billing.meter_created',
  version: 1,
  description: 'A custom meter was defined; it meters the events that follow it in the stream.',
  data: MeterSchema,
});

/**
 * The gateway's usage rollup: the requests one gateway replica answered for one partner in one minute. Its id is
 * deterministic (`apiu_<partner>_<minute>_<reporter>`), so a re-sent rollup is dropped by the stream's dedupe and
 * never counted twice; two replicas report two rollups (each its own requests).
 */
export const ApiUsageRolledUp = defineEvent({
  origin: 'domain',
  aggregate: 'api_usage',
  category: 'billing',
  type: 'api_usage.rolled_up',
  version: 1,
  description: 'Requests a gateway replica answered for one partner in one minute (appended once per partner, minute and replica).',
  data: z
    .object({
      partner_id: safeText().min(1).max(64),
      minute: safeDatetime({ offset: true }).describe('Start of the minute (seconds are zero)'),
      reporter: safeText()
        .regex(/^[A-Za-z0-9_-]{1,64}$/)
        .describe('The gateway replica that counted them'),
      requests: z.number().int().min(1).max(100_000_000),
      by_status: z.record(safeText().regex(/^[1-5]xx$/), z.number().int().min(0)).optional(),
      by_credential: z
        .record(
          safeText().regex(/^[A-Za-z0-9_-]{1,64}$/),
          z
            .object({
              requests: z.number().int().min(0),
              errors: z.number().int().min(0),
              latency_ms_p95: z.number().int().min(0).optional(),
            })
            .strict(),
        )
        .refine((r) => Object.keys(r).length <= 1000, { message: 'at most 1000 credentials' })
        .optional()
        .describe('The same requests split by the API key or OAuth client that made them (errors: 4xx and 5xx answers)'),
    })
    .strict(),
});

/** A plan version is immutable once published; a change to a plan publishes the next version. */
export const BillingPlanVersionPublished = defineEvent({
  origin: 'domain',
  aggregate: 'billing_plan',
  category: 'billing',
  type: 'billing.plan_version_published',
  version: 1,
  description: 'A version of a pricing plan was published (versions are immutable; subscriptions pin one).',
  data: z.object({ version: z.number().int().min(1), plan: PlanDefinitionSchema }),
});

const PlanRefSchema = z.object({ plan_code: safeText(), plan_version: z.number().int().min(1) });
const IsoDateSchema = safeDate();
const ProrationLineSchema = z.object({
  kind: z.enum(['proration_credit', 'proration_charge', 'flat_fee']),
  description: safeText(),
  quantity: z.number(),
  unit_amount_decimal: safeText(),
  amount: z.number().int().describe('Minor units; negative for a credit'),
  period: z.object({ start: IsoDateSchema, end: IsoDateSchema }),
});
const subscription = { origin: 'domain', aggregate: 'billing_subscription', category: 'billing' } as const;

export const BillingSubscriptionStarted = defineEvent({
  ...subscription,
  type: 'billing.subscription_started',
  version: 1,
  description: "A partner's subscription to a plan version starts on its effective date (the anchor of its periods).",
  data: PlanRefSchema.extend({
    partner_id: safeText(),
    subscription_id: safeText(),
    effective_date: IsoDateSchema,
    interval: PlanIntervalSchema,
    currency: safeText(),
  }),
});

export const BillingSubscriptionPlanChanged = defineEvent({
  ...subscription,
  type: 'billing.subscription_plan_changed',
  version: 1,
  description: 'The subscription moved to another plan version on its effective date, with the day-proration of the fee.',
  data: z.object({
    partner_id: safeText(),
    subscription_id: safeText(),
    from: PlanRefSchema,
    to: PlanRefSchema,
    effective_date: IsoDateSchema,
    timing: z.enum(['immediate', 'period_end']),
    interval: PlanIntervalSchema,
    anchor_date: IsoDateSchema.describe('Start of the period sequence from this change on'),
    currency: safeText(),
    proration: z.array(ProrationLineSchema),
  }),
});

export const BillingSubscriptionChangeScheduled = defineEvent({
  ...subscription,
  type: 'billing.subscription_change_scheduled',
  version: 1,
  description: 'A downgrade (or a change asked for at the period end) was scheduled for the end of the current period.',
  data: z.object({
    partner_id: safeText(),
    subscription_id: safeText(),
    from: PlanRefSchema,
    to: PlanRefSchema,
    effective_date: IsoDateSchema,
  }),
});

const InvoiceLineSchema = z.object({
  kind: safeText(),
  description: safeText(),
  quantity: z.number(),
  unit_amount_decimal: safeText(),
  amount: z.number().int(),
  period: z.object({ start: IsoDateSchema, end: IsoDateSchema }),
  meter: safeText().optional(),
  tiers: z.array(z.record(safeText(), safeJson())).optional(),
});

/** Appended once per partner and month: the invoice id is deterministic and the append expects a new subject. */
export const BillingInvoiceCreated = defineEvent({
  origin: 'domain',
  aggregate: 'billing_invoice',
  category: 'billing',
  type: 'billing.invoice_created',
  version: 1,
  description: "A partner's draft invoice for a month (one per partner and period, whatever runs the job).",
  data: z.object({
    invoice_id: safeText(),
    partner_id: safeText(),
    subscription_id: safeText(),
    period: z.object({ start: IsoDateSchema, end: IsoDateSchema }),
    currency: safeText(),
    lines: z.array(InvoiceLineSchema),
    total: z.number().int(),
    usage: z
      .record(safeText(), z.number())
      .optional()
      .describe('The usage per meter it charged (usage arriving later is charged on the next invoice as late_usage)'),
    timezone: safeText().optional().describe("The partner's billing time zone the month was cut in (absent: UTC)"),
  }),
});

/** Numbers are assigned on the issuer's numbering subject with optimistic concurrency, so they have no gaps. */
export const BillingInvoiceFinalized = defineEvent({
  origin: 'domain',
  aggregate: 'billing_invoice_numbering',
  category: 'billing',
  type: 'billing.invoice_finalized',
  version: 1,
  description: 'A draft invoice got the next number of its issuer and is open (due after INVOICE_DUE_DAYS).',
  data: z.object({
    invoice_id: safeText(),
    partner_id: safeText(),
    issuer: safeText(),
    number: safeText(),
    sequence: z.number().int().min(1),
    finalized_on: IsoDateSchema,
    due_date: IsoDateSchema,
    total: z.number().int(),
    currency: safeText(),
  }),
});

export const BillingInvoiceVoided = defineEvent({
  origin: 'domain',
  aggregate: 'billing_invoice',
  category: 'billing',
  type: 'billing.invoice_voided',
  version: 1,
  description: 'The invoice was voided: nothing is owed on it (its number stays used).',
  data: z.object({ invoice_id: safeText(), partner_id: safeText(), reason: safeText().optional() }),
});

export const BillingInvoiceMarkedUncollectible = defineEvent({
  origin: 'domain',
  aggregate: 'billing_invoice',
  category: 'billing',
  type: 'billing.invoice_marked_uncollectible',
  version: 1,
  description: 'An open invoice is not expected to be paid.',
  data: z.object({ invoice_id: safeText(), partner_id: safeText() }),
});

/** A payment settled an open (or uncollectible) invoice; recorded once per `payment_ref` (Stripe invoice or charge id). */
export const BillingInvoicePaid = defineEvent({
  origin: 'domain',
  aggregate: 'billing_invoice',
  category: 'billing',
  type: 'billing.invoice_paid',
  version: 1,
  description: 'A payment was recorded against a finalized invoice (idempotent on payment_ref); the invoice is paid.',
  data: z.object({
    invoice_id: safeText(),
    partner_id: safeText(),
    amount: z.number().int().min(1).describe('Minor units of the currency'),
    currency: safeText(),
    payment_ref: safeText().min(1).max(255).describe('The payment provider reference, e.g. a Stripe invoice or charge id'),
    paid_at: safeDatetime({ offset: true }),
  }),
});

/** A collection attempt failed; the provider retries at `next_retry_at` (absent: no retry is scheduled). */
export const BillingInvoicePaymentFailed = defineEvent({
  origin: 'domain',
  aggregate: 'billing_invoice',
  category: 'billing',
  type: 'billing.invoice_payment_failed',
  version: 1,
  description: 'An attempt to collect an invoice failed (recorded once per payment_ref and attempt).',
  data: z.object({
    invoice_id: safeText(),
    partner_id: safeText(),
    payment_ref: safeText().min(1).max(255),
    attempt: z.number().int().min(1),
    next_retry_at: safeDatetime({ offset: true }).optional(),
    reason: safeText().max(500),
    failed_at: safeDatetime({ offset: true }),
  }),
});

export const billingDomainEvents = [
  BillingMeterCreated,
  ApiUsageRolledUp,
  BillingPlanVersionPublished,
  BillingSubscriptionStarted,
  BillingSubscriptionPlanChanged,
  BillingSubscriptionChangeScheduled,
  BillingInvoiceCreated,
  BillingInvoiceFinalized,
  BillingInvoiceVoided,
  BillingInvoiceMarkedUncollectible,
  BillingInvoicePaid,
  BillingInvoicePaymentFailed,
] as const;
