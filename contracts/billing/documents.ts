import { z } from 'zod';
import { safeDate, safeDatetime, safeText } from '../common/text.ts';
import { InvoiceId, PlatformId } from '../common/ids.ts';
import { defineEvent } from '../catalog/registry.ts';
import { pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';

/**
 * Invoice documents and billing reports: credit notes, the invoice PDF, a partner's billing settings (timezone),
 * the revenue forecast and the executive report. Issue 12, points 3 and 6.
 */
const SERVICE = 'billing';
const TAG = 'Billing';
const PartnerIdQuery = PlatformId('prt').optional().describe('Admin credentials name the partner');
const InvoiceIdParams = z.object({ id: InvoiceId() });

const TIMEZONES = new Set<string>(['UTC', ...Intl.supportedValuesOf('timeZone')]);
export const BillingTimezoneSchema = safeText()
  .min(1)
  .max(64)
  .refine((tz) => TIMEZONES.has(tz), { message: 'must be an IANA time zone such as "Europe/Berlin" or "UTC"' });

// ---------------------------------------------------------------- events

export const CreditNoteLineSchema = z
  .object({
    description: safeText().trim().min(1).max(200),
    amount: z.number().int().min(1).max(1e12).describe('Minor units credited by this line'),
  })
  .strict();

export const BillingCreditNoteIssued = defineEvent({
  origin: 'domain',
  aggregate: 'billing_invoice',
  category: 'billing',
  type: 'billing.credit_note_issued',
  version: 1,
  description: 'A credit note corrects a finalized invoice (the invoice itself is never edited); at most its remaining total.',
  data: z.object({
    credit_note_id: safeText(),
    invoice_id: safeText(),
    partner_id: safeText(),
    number: safeText().describe('The invoice number with the note\'s ordinal, e.g. "PEP-000004-CN1"'),
    amount: z.number().int().min(1),
    currency: safeText(),
    reason: safeText(),
    lines: z.array(CreditNoteLineSchema),
    issued_at: safeDatetime({ offset: true }),
  }),
});

export const BillingPartnerSettingsUpdated = defineEvent({
  origin: 'domain',
  aggregate: 'billing_partner_settings',
  category: 'billing',
  type: 'billing.partner_settings_updated',
  version: 1,
  description: "A partner's billing settings changed: the time zone its invoice periods are cut in.",
  data: z.object({ partner_id: safeText(), timezone: safeText() }),
});

export const billingDocumentEvents = [BillingCreditNoteIssued, BillingPartnerSettingsUpdated] as const;

// ---------------------------------------------------------------- bodies and views

export const CreateCreditNoteBody = z
  .object({
    reason: safeText().trim().min(1).max(500),
    lines: z.array(CreditNoteLineSchema).min(1).max(100),
  })
  .strict()
  .meta({ id: 'CreateCreditNote' });

export const CreditNoteViewSchema = z
  .object({
    object: z.literal('credit_note'),
    id: safeText(),
    invoice_id: safeText(),
    partner_id: safeText(),
    number: safeText(),
    amount: z.number().int(),
    currency: safeText(),
    reason: safeText(),
    lines: z.array(z.object({ description: safeText(), amount: z.number().int() })),
    issued_at: safeText(),
  })
  .meta({ id: 'CreditNote' });

export const BillingSettingsBody = z
  .object({ partner_id: PlatformId('prt').optional().describe('Admin credentials name the partner'), timezone: BillingTimezoneSchema })
  .strict()
  .meta({ id: 'BillingSettingsUpdate' });

export const BillingSettingsViewSchema = z
  .object({ object: z.literal('billing_settings'), partner_id: safeText(), timezone: safeText() })
  .meta({ id: 'BillingSettings' });

const MoneyByCurrency = z.record(safeText(), z.number().int()).describe('Minor units per ISO currency');
const ForecastPoint = z.object({
  month: safeText(),
  mrr: z.number().int(),
  low: z.number().int().describe('Lower bound of the 80% prediction interval'),
  high: z.number().int().describe('Upper bound of the 80% prediction interval'),
});
export const ForecastViewSchema = z
  .object({
    object: z.literal('billing_forecast'),
    as_of: safeDate(),
    currency: safeText().describe('The currency of the figures (one forecast per currency)'),
    partner_id: safeText().nullable().describe('null: platform-wide'),
    mrr: z.number().int(),
    arr: z.number().int(),
    history: z.array(z.object({ month: safeText(), mrr: z.number().int(), partners: z.number().int() })),
    net_revenue_retention: z.number().nullable().describe('MRR now of the partners paying 12 months ago ÷ their MRR then'),
    churn_rate: z.number().nullable().describe('Partners paying 1 month ago that pay nothing now ÷ partners paying 1 month ago'),
    forecast: z.object({
      method: safeText(),
      points: z.array(ForecastPoint).describe('Months +3, +6 and +12'),
    }),
    partners: z.array(z.object({ partner_id: safeText(), mrr: z.number().int(), arr: z.number().int() })),
    other_currencies: MoneyByCurrency.describe('MRR of subscriptions in other currencies (not in these figures)'),
  })
  .meta({ id: 'BillingForecast' });

export const ForecastQuerySchema = z
  .object({
    partner_id: PartnerIdQuery,
    currency: safeText()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code')
      .optional()
      .describe('Default: the currency most subscriptions use'),
  })
  .strict();

export const ClosePeriodBody = z
  .object({ partner_id: PlatformId('prt').describe('The partner whose current period closes now (demo, admin)') })
  .strict()
  .meta({ id: 'ClosePeriodNow' });

// ---------------------------------------------------------------- routes

const r = { tag: TAG, service: SERVICE } as const;
export const billingDocumentRoutes = defineRoutes([
  {
    ...r,
    operationId: 'getBillingInvoicePdf',
    method: 'GET',
    path: '/v1/billing/invoices/:id/pdf',
    summary: 'The invoice as a PDF document (a partner gets its own)',
    pattern: 'invoices.pdf',
    scope: 'read:billing',
    params: InvoiceIdParams,
    success: { status: 200, schema: null, description: 'The invoice PDF', contentType: 'application/pdf' },
    timeoutMs: 15_000,
  },
  {
    ...r,
    operationId: 'createBillingCreditNote',
    method: 'POST',
    path: '/v1/billing/invoices/:id/credit-notes',
    summary: 'Correct a finalized invoice with a credit note (at most its remaining total; the invoice is never edited)',
    pattern: 'credit-notes.create',
    scope: 'admin',
    adminOnly: true,
    params: InvoiceIdParams,
    body: CreateCreditNoteBody,
    success: { status: 201, schema: CreditNoteViewSchema },
    errors: [409],
  },
  {
    ...r,
    operationId: 'listBillingCreditNotes',
    method: 'GET',
    path: '/v1/billing/invoices/:id/credit-notes',
    summary: 'The credit notes of an invoice (a partner sees its own)',
    pattern: 'credit-notes.list',
    scope: 'read:billing',
    params: InvoiceIdParams,
    success: { status: 200, schema: pageOf(CreditNoteViewSchema) },
  },
  {
    ...r,
    operationId: 'getBillingSettings',
    method: 'GET',
    path: '/v1/billing/settings',
    summary: "A partner's billing settings (time zone of its invoice periods; default UTC)",
    pattern: 'settings.get',
    scope: 'read:billing',
    query: z.object({ partner_id: PartnerIdQuery }).strict(),
    success: { status: 200, schema: BillingSettingsViewSchema },
  },
  {
    ...r,
    operationId: 'updateBillingSettings',
    method: 'PUT',
    path: '/v1/billing/settings',
    summary: "Set a partner's billing time zone (the next invoice periods are cut in it)",
    pattern: 'settings.update',
    scope: 'write:billing',
    body: BillingSettingsBody,
    success: { status: 200, schema: BillingSettingsViewSchema },
  },
  {
    ...r,
    operationId: 'getBillingForecast',
    method: 'GET',
    path: '/v1/billing/forecast',
    summary: 'MRR and ARR with monthly history, retention, churn and a 3/6/12-month forecast (a partner sees its own)',
    pattern: 'forecast.get',
    scope: 'read:billing',
    query: ForecastQuerySchema,
    success: { status: 200, schema: ForecastViewSchema },
    timeoutMs: 15_000,
  },
  {
    ...r,
    operationId: 'sendBillingExecutiveReport',
    method: 'POST',
    path: '/v1/billing/executive-reports',
    summary: 'Mail the executive report of the last ended month now to EXECUTIVE_REPORT_RECIPIENTS (through the outbox)',
    pattern: 'reports.executive.send',
    scope: 'admin',
    adminOnly: true,
    success: { status: 202, schema: z.object({ report_id: safeText(), month: safeText(), recipients: z.number().int() }) },
    timeoutMs: 15_000,
  },
  {
    ...r,
    operationId: 'closeBillingPeriodNow',
    method: 'POST',
    path: '/v1/billing/period-closings',
    summary: "Close a partner's current month now and invoice it (demo; the scheduled job closes ended months)",
    pattern: 'invoices.close-now',
    scope: 'admin',
    adminOnly: true,
    body: ClosePeriodBody,
    success: { status: 200, schema: z.object({ invoice_id: safeText(), number: safeText().nullable(), total: z.number().int() }) },
    timeoutMs: 60_000,
  },
]);
