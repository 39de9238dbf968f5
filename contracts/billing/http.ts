import { z } from 'zod';
import { safeDate, safeDatetime, safeJson, safeText } from '../common/text.ts';
import { ExternalId, InvoiceId, PlatformId } from '../common/ids.ts';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { MeterAggregationSchema, MeterSchema } from './meters.ts';
import { PlanDefinitionSchema } from './plans.ts';

const SERVICE = 'billing';
const TAG = 'Billing';
const PartnerIdQuery = PlatformId('prt').optional().describe('Admin credentials name the partner');

export const UsageWindowSchema = z.enum(['hour', 'day', 'month']);

export const UsageQuerySchema = z
  .object({
    meter: safeText().min(1).max(64).optional().describe('Absent: every meter'),
    from: safeDatetime({ offset: true })
      .optional()
      .describe('Inclusive, rounded down to the hour; default: start of the current UTC month'),
    to: safeDatetime({ offset: true }).optional().describe('Exclusive; default: start of the next UTC month'),
    window: UsageWindowSchema.default('day'),
    partner_id: PartnerIdQuery,
  })
  .strict();

export const UsageBucketSchema = z.object({
  meter: safeText(),
  window_start: safeText(),
  window_end: safeText(),
  value: z.number(),
  groups: z.record(safeText(), safeText()).optional(),
});

export const UsageReportSchema = z
  .object({
    object: z.literal('usage'),
    partner_id: safeText(),
    meter: safeText().nullable().describe('The meter asked for; null when every meter was'),
    aggregation: MeterAggregationSchema.nullable(),
    window: UsageWindowSchema,
    from: safeText(),
    to: safeText(),
    data: z.array(UsageBucketSchema).describe('One bucket per window (and group) that has usage, in time order'),
  })
  .meta({ id: 'UsageReport' });

export const MeterViewSchema = z
  .object({
    object: z.literal('meter'),
    builtin: z.boolean(),
    created_at: safeText().nullable(),
  })
  .extend(MeterSchema.shape)
  .meta({ id: 'MeterView' });

export const ReportedUsageSchema = z
  .object({
    object: z.literal('reported_usage'),
    partner_id: safeText(),
    customer_id: safeText(),
    metric: safeText(),
    quantity: z.number().describe('The total the partner last reported for the period (not a delta)'),
    unit: safeText().nullable(),
    subscription_id: safeText().nullable(),
    application_id: safeText().nullable(),
    period_start: safeText(),
    period_end: safeText(),
    reported_at: safeText(),
    event_id: safeText(),
  })
  .meta({ id: 'ReportedUsage' });

export const ReportedUsageQuerySchema = PageQuerySchema.extend({
  customer_id: ExternalId().optional(),
  metric: safeText().min(1).max(64).optional(),
  partner_id: PartnerIdQuery,
}).strict();

export const billingUsageRoutes = defineRoutes([
  {
    operationId: 'getBillingUsage',
    method: 'GET',
    path: '/v1/billing/usage',
    summary: "A partner's metered usage of one meter (or every meter), per hour, day or month (a partner sees its own)",
    tag: TAG,
    service: SERVICE,
    pattern: 'usage.get',
    scope: 'read:billing',
    query: UsageQuerySchema,
    success: { status: 200, schema: UsageReportSchema },
  },
  {
    operationId: 'listBillingMeters',
    method: 'GET',
    path: '/v1/billing/meters',
    summary: 'The meters usage is counted by (built-in and custom)',
    tag: TAG,
    service: SERVICE,
    pattern: 'meters.list',
    scope: 'read:billing',
    success: { status: 200, schema: pageOf(MeterViewSchema) },
  },
  {
    operationId: 'createBillingMeter',
    method: 'POST',
    path: '/v1/billing/meters',
    summary: 'Define a custom meter (it meters the events that follow it in the stream)',
    tag: TAG,
    service: SERVICE,
    pattern: 'meters.create',
    scope: 'admin',
    adminOnly: true,
    body: MeterSchema,
    success: { status: 201, schema: MeterViewSchema },
    errors: [409],
  },
  {
    operationId: 'listReportedUsage',
    method: 'GET',
    path: '/v1/billing/reported-usage',
    summary: 'Usage totals partners reported for their customers (billing.usage_updated), latest per period',
    tag: TAG,
    service: SERVICE,
    pattern: 'reported-usage.list',
    scope: 'read:billing',
    query: ReportedUsageQuerySchema,
    success: { status: 200, schema: pageOf(ReportedUsageSchema) },
  },
]);

// ---------------------------------------------------------------- plans and subscriptions

const PartnerIdBody = PlatformId('prt').optional().describe('Admin credentials name the partner');
const PlanCodeParams = z.object({ code: safeText().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a plan code') });

export const PlanVersionViewSchema = z
  .object({
    object: z.literal('plan'),
    code: safeText(),
    version: z.number().int(),
    published_at: safeText(),
    definition: PlanDefinitionSchema,
  })
  .meta({ id: 'PlanVersion' });

export const PlanQuoteBody = z
  .object({
    version: z.number().int().min(1).max(2_147_483_647).optional().describe('Default: the latest version'),
    period: z.object({ start: safeDate(), end: safeDate() }).strict().optional(),
    usage: z.record(safeText().max(64), z.number().min(0).max(1e15)).default({}).describe('Quantity per meter for the period'),
    transactions: z
      .array(z.object({ id: safeText().min(1).max(128), amount: z.number().int().min(0).max(1e12) }).strict())
      .max(1000)
      .default([]),
  })
  .strict()
  .meta({ id: 'PlanQuoteRequest' });

const LineItemSchema = z.object({
  kind: safeText(),
  description: safeText(),
  quantity: z.number(),
  unit_amount_decimal: safeText(),
  amount: z.number().int(),
  period: z.object({ start: safeText(), end: safeText() }),
  meter: safeText().optional(),
  transaction_id: safeText().optional(),
  tiers: z.array(z.record(safeText(), safeJson())).optional(),
});
export const QuoteSchema = z
  .object({
    object: z.literal('quote'),
    plan_code: safeText(),
    plan_version: z.number().int(),
    currency: safeText(),
    total: z.number().int(),
    lines: z.array(LineItemSchema),
  })
  .meta({ id: 'Quote' });

export const CreateSubscriptionBody = z
  .object({
    partner_id: PartnerIdBody,
    plan_code: safeText().min(1).max(64),
    plan_version: z.number().int().min(1).max(2_147_483_647).optional().describe('Default: the latest version'),
    effective_date: safeDate().describe('First day of the subscription and the anchor of its periods'),
  })
  .strict()
  .meta({ id: 'CreateSubscription' });

export const ChangeSubscriptionBody = z
  .object({
    partner_id: PartnerIdBody,
    plan_code: safeText().min(1).max(64),
    plan_version: z.number().int().min(1).max(2_147_483_647).optional(),
    effective_date: safeDate().describe('The day the change applies when it is immediate'),
    timing: z
      .enum(['auto', 'immediate', 'period_end'])
      .default('auto')
      .describe('auto: upgrades now (prorated by the day), downgrades at the end of the current period'),
  })
  .strict()
  .meta({ id: 'ChangeSubscription' });

const PlanRefView = z.object({ plan_code: safeText(), plan_version: z.number().int() });
export const SubscriptionViewSchema = z
  .object({
    object: z.literal('subscription'),
    id: safeText(),
    partner_id: safeText(),
    currency: safeText(),
    started_on: safeText(),
    current: PlanRefView.extend({ since: safeText(), interval: safeText(), anchor_date: safeText() }),
    current_period: z.object({ start: safeText(), end: safeText() }).nullable(),
    scheduled_change: PlanRefView.extend({ effective_date: safeText() }).nullable(),
    changes: z.array(z.record(safeText(), safeJson())).describe('Every plan change with its proration lines'),
    version: z.number().int(),
  })
  .meta({ id: 'Subscription' });

const planRoute = { tag: TAG, service: SERVICE } as const;
export const billingPlanRoutes = defineRoutes([
  {
    ...planRoute,
    operationId: 'createBillingPlan',
    method: 'POST',
    path: '/v1/billing/plans',
    summary: 'Create a pricing plan (its version 1)',
    pattern: 'plans.create',
    scope: 'admin',
    adminOnly: true,
    body: PlanDefinitionSchema,
    success: { status: 201, schema: PlanVersionViewSchema },
    errors: [409],
  },
  {
    ...planRoute,
    operationId: 'publishBillingPlanVersion',
    method: 'POST',
    path: '/v1/billing/plans/:code/versions',
    summary: 'Publish the next version of a plan (versions are immutable; subscriptions keep theirs)',
    pattern: 'plans.publish-version',
    scope: 'admin',
    adminOnly: true,
    params: PlanCodeParams,
    body: PlanDefinitionSchema,
    success: { status: 201, schema: PlanVersionViewSchema },
  },
  {
    ...planRoute,
    operationId: 'listBillingPlans',
    method: 'GET',
    path: '/v1/billing/plans',
    summary: 'Every plan at its latest version',
    pattern: 'plans.list',
    scope: 'read:billing',
    success: { status: 200, schema: pageOf(PlanVersionViewSchema) },
  },
  {
    ...planRoute,
    operationId: 'getBillingPlan',
    method: 'GET',
    path: '/v1/billing/plans/:code',
    summary: 'A plan at its latest version, or the version asked for',
    pattern: 'plans.get',
    scope: 'read:billing',
    params: PlanCodeParams,
    query: z.object({ version: z.coerce.number().int().min(1).max(2_147_483_647).optional() }).strict(),
    success: { status: 200, schema: PlanVersionViewSchema },
  },
  {
    ...planRoute,
    operationId: 'quoteBillingPlan',
    method: 'POST',
    path: '/v1/billing/plans/:code/quote',
    summary: 'Price a period of a plan for given usage and transactions (line items with tier breakdown)',
    pattern: 'plans.quote',
    scope: 'read:billing',
    params: PlanCodeParams,
    body: PlanQuoteBody,
    success: { status: 200, schema: QuoteSchema },
  },
  {
    ...planRoute,
    operationId: 'createBillingSubscription',
    method: 'POST',
    path: '/v1/billing/subscriptions',
    summary: 'Subscribe a partner to a plan version from an effective date',
    pattern: 'subscription.create',
    scope: 'write:billing',
    body: CreateSubscriptionBody,
    success: { status: 201, schema: SubscriptionViewSchema },
    errors: [409],
  },
  {
    ...planRoute,
    operationId: 'changeBillingSubscription',
    method: 'POST',
    path: '/v1/billing/subscription-changes',
    summary: "Change a partner's plan: upgrades now with day-proration, downgrades at the period end unless asked otherwise",
    pattern: 'subscription.change',
    scope: 'write:billing',
    body: ChangeSubscriptionBody,
    success: { status: 200, schema: SubscriptionViewSchema },
    errors: [409],
  },
  {
    ...planRoute,
    operationId: 'listBillingSubscriptions',
    method: 'GET',
    path: '/v1/billing/subscriptions',
    summary: 'Subscriptions (a partner has at most one and sees only its own; admins may filter by partner)',
    pattern: 'subscriptions.list',
    scope: 'read:billing',
    query: z.object({ partner_id: PartnerIdQuery }).strict(),
    success: { status: 200, schema: pageOf(SubscriptionViewSchema) },
  },
]);

// ---------------------------------------------------------------- invoices

export const InvoiceViewSchema = z
  .object({
    object: z.literal('invoice'),
    id: safeText(),
    partner_id: safeText(),
    number: safeText().nullable().describe('Assigned at finalization, gap-free per issuer'),
    status: z.enum(['draft', 'open', 'paid', 'void', 'uncollectible']),
    currency: safeText(),
    total: z.number().int(),
    period: z.object({ start: safeText(), end: safeText() }),
    due_date: safeText().nullable(),
    credited: z.number().int().describe('Minor units credited by credit notes'),
    amount_paid: z.number().int().describe('Minor units recorded as paid (billing.invoice_paid)'),
    amount_due: z.number().int().describe('What is still owed: total − credited − paid (0 unless draft or open)'),
    timezone: safeText().describe("The partner's billing time zone the period was cut in"),
    credit_notes: z.array(z.record(safeText(), safeJson())).describe('Credit notes issued against it, oldest first'),
    paid_at: safeText().nullable(),
    payment_ref: safeText().nullable().describe('The payment provider reference of the payment'),
    failed_attempts: z.number().int().describe('Failed collection attempts recorded so far'),
    next_retry_at: safeText().nullable().describe('When the payment provider retries a failed collection'),
    lines: z.array(LineItemSchema),
    created_at: safeText(),
  })
  .meta({ id: 'Invoice' });

export const RunInvoicesBody = z
  .object({ period: safeText().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month like "2026-10"') })
  .strict()
  .meta({ id: 'RunInvoices' });

export const billingInvoiceRoutes = defineRoutes([
  {
    tag: TAG,
    service: SERVICE,
    operationId: 'runBillingInvoices',
    method: 'POST',
    path: '/v1/billing/invoice-runs',
    summary: 'Close a month: invoice every subscribed partner once (idempotent per partner and period)',
    pattern: 'invoices.run',
    scope: 'admin',
    adminOnly: true,
    body: RunInvoicesBody,
    success: {
      status: 200,
      schema: z.object({ period: safeText(), created: z.number().int(), finalized: z.number().int(), skipped: z.number().int() }),
    },
    timeoutMs: 60_000,
  },
  {
    tag: TAG,
    service: SERVICE,
    operationId: 'listBillingInvoices',
    method: 'GET',
    path: '/v1/billing/invoices',
    summary: 'Invoices, newest period first (a partner sees its own)',
    pattern: 'invoices.list',
    scope: 'read:billing',
    query: PageQuerySchema.extend({ partner_id: PartnerIdQuery }).strict(),
    success: { status: 200, schema: pageOf(InvoiceViewSchema) },
  },
  {
    tag: TAG,
    service: SERVICE,
    operationId: 'getBillingInvoice',
    method: 'GET',
    path: '/v1/billing/invoices/:id',
    summary: 'An invoice with its line items and tier breakdown',
    pattern: 'invoices.get',
    scope: 'read:billing',
    params: z.object({ id: InvoiceId() }),
    success: { status: 200, schema: InvoiceViewSchema },
  },
]);

const InvoiceIdParams = z.object({ id: InvoiceId() });
export const VoidInvoiceBody = z
  .object({ reason: safeText().trim().min(1).max(500).optional() })
  .strict()
  .meta({ id: 'VoidInvoice' });

export const billingInvoiceStatusRoutes = defineRoutes([
  {
    tag: TAG,
    service: SERVICE,
    operationId: 'voidBillingInvoice',
    method: 'POST',
    path: '/v1/billing/invoices/:id/void',
    summary: 'Void a draft, open or uncollectible invoice (voiding twice changes nothing)',
    pattern: 'invoices.void',
    scope: 'admin',
    adminOnly: true,
    params: InvoiceIdParams,
    body: VoidInvoiceBody,
    success: { status: 200, schema: InvoiceViewSchema },
    errors: [409],
  },
  {
    tag: TAG,
    service: SERVICE,
    operationId: 'markBillingInvoiceUncollectible',
    method: 'POST',
    path: '/v1/billing/invoices/:id/mark-uncollectible',
    summary: 'Mark an open invoice uncollectible',
    pattern: 'invoices.mark-uncollectible',
    scope: 'admin',
    adminOnly: true,
    params: InvoiceIdParams,
    success: { status: 200, schema: InvoiceViewSchema },
    errors: [409],
  },
]);
