import { z } from 'zod';
import { PlatformId } from '../common/ids.ts';
import { safeDatetime, safeText } from '../common/text.ts';
import { defineRoutes } from '../http/routes.ts';

export const RevenueQuerySchema = z
  .object({
    from: safeDatetime({ offset: true }).optional().describe('Inclusive (charge creation time); default: start of the current UTC month'),
    to: safeDatetime({ offset: true }).optional().describe('Exclusive; default: start of the next UTC month'),
    partner_id: PlatformId('prt')
      .optional()
      .describe('Admin credentials may name the partner; a partner sees the revenue attributed to it'),
  })
  .strict();

const RevenueTotalsSchema = z.object({
  currency: safeText(),
  charges: z.number().int(),
  gross: z.number().int().describe('Minor units: every succeeded charge'),
  refunded: z.number().int().describe('Minor units refunded of those charges'),
  net: z.number().int().describe('gross - refunded'),
});

export const RevenueReportSchema = z
  .object({
    object: z.literal('revenue'),
    from: safeText(),
    to: safeText(),
    partner_id: safeText().nullable(),
    charges_read: z.number().int().describe('Charges read from Stripe (every page, not only the first 100)'),
    totals: z.array(RevenueTotalsSchema).describe('One per currency'),
    by_partner: z.array(RevenueTotalsSchema.extend({ partner_id: safeText().nullable() })).describe('Attributed partner (null: none)'),
  })
  .meta({ id: 'RevenueReport' });

export const billingRevenueRoutes = defineRoutes([
  {
    operationId: 'getBillingRevenue',
    method: 'GET',
    path: '/v1/billing/revenue',
    summary:
      'Revenue from Stripe charges in a time range, refunds excluded (pages through every charge); a partner sees what is attributed to it',
    tag: 'Billing',
    service: 'billing',
    pattern: 'revenue.get',
    scope: 'read:billing',
    query: RevenueQuerySchema,
    success: { status: 200, schema: RevenueReportSchema },
    errors: [502],
    timeoutMs: 30_000,
  },
]);
