import { z } from 'zod';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { MeterAggregationSchema, MeterSchema } from './meters.ts';

const SERVICE = 'billing';
const TAG = 'Billing';
const PartnerIdQuery = z.string().min(1).max(64).optional().describe('Admin credentials name the partner');

export const UsageWindowSchema = z.enum(['hour', 'day', 'month']);

export const UsageQuerySchema = z
  .object({
    meter: z.string().min(1).max(64),
    from: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Inclusive, rounded down to the hour; default: start of the current UTC month'),
    to: z.iso.datetime({ offset: true }).optional().describe('Exclusive; default: now'),
    window: UsageWindowSchema.default('day'),
    partner_id: PartnerIdQuery,
  })
  .strict();

export const UsageBucketSchema = z.object({
  window_start: z.string(),
  window_end: z.string(),
  value: z.number(),
  groups: z.record(z.string(), z.string()).optional(),
});

export const UsageReportSchema = z
  .object({
    object: z.literal('usage'),
    partner_id: z.string(),
    meter: z.string(),
    aggregation: MeterAggregationSchema,
    window: UsageWindowSchema,
    from: z.string(),
    to: z.string(),
    data: z.array(UsageBucketSchema).describe('One bucket per window (and group) that has usage, in time order'),
  })
  .meta({ id: 'UsageReport' });

export const MeterViewSchema = z
  .object({
    object: z.literal('meter'),
    builtin: z.boolean(),
    created_at: z.string().nullable(),
  })
  .extend(MeterSchema.shape)
  .meta({ id: 'MeterView' });

export const ReportedUsageSchema = z
  .object({
    object: z.literal('reported_usage'),
    partner_id: z.string(),
    customer_id: z.string(),
    metric: z.string(),
    quantity: z.number().describe('The total the partner last reported for the period (not a delta)'),
    unit: z.string().nullable(),
    subscription_id: z.string().nullable(),
    application_id: z.string().nullable(),
    period_start: z.string(),
    period_end: z.string(),
    reported_at: z.string(),
    event_id: z.string(),
  })
  .meta({ id: 'ReportedUsage' });

export const ReportedUsageQuerySchema = PageQuerySchema.extend({
  customer_id: z.string().min(1).max(128).optional(),
  metric: z.string().min(1).max(64).optional(),
  partner_id: PartnerIdQuery,
}).strict();

export const billingUsageRoutes = defineRoutes([
  {
    operationId: 'getBillingUsage',
    method: 'GET',
    path: '/v1/billing/usage',
    summary: "A partner's metered usage of one meter, per hour, day or month (a partner sees its own)",
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
