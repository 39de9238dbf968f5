import { z } from 'zod';
import { PlatformId, ULID_LOWER } from '../common/ids.ts';
import { safeDate, safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';

/** A payout id is derived from the partner and the month, so a second run (or replica) finds the same payout. */
export const PAYOUT_ID_PATTERN = new RegExp(`^po_prt_${ULID_LOWER}_[0-9]{6}$`);
export const PayoutId = () => safeText().regex(PAYOUT_ID_PATTERN, 'must be a payout id: "po_", the partner id and the month as YYYYMM');

export const PayoutStatusSchema = z.enum(['pending', 'processing', 'paid', 'failed', 'carried_over']);

/** One line of a payout statement: a source payment (or the refund of one) and the share taken of it. */
export const PayoutLineSchema = z.object({
  kind: z.enum(['payment', 'refund_reversal']),
  source_id: safeText().describe('The Stripe charge (payment) or refund (reversal)'),
  charge_id: safeText(),
  customer_id: safeText().describe('The platform customer (or Stripe customer) the payment came from'),
  occurred_at: safeText().describe('When the payment was made or refunded'),
  amount: z.number().int().describe('Minor units; negative for a refund'),
  contract_year: z.enum(['first', 'renewal']),
  percent: z.number().min(0).max(100),
  share: z.number().int().describe('Minor units, rounded half away from zero once per line; negative reverses a share'),
});

const common = { origin: 'domain', aggregate: 'billing_payout', category: 'billing' } as const;
const Period = z.object({ start: safeDate(), end: safeDate() });

export const PayoutCreated = defineEvent({
  ...common,
  type: 'payout.created',
  version: 1,
  description:
    "A partner's monthly revenue-share statement: each source payment and the share taken, the balance carried in, and what is payable (below the minimum it is carried over).",
  data: z.object({
    payout_id: safeText(),
    partner_id: safeText(),
    period: Period,
    currency: safeText(),
    lines: z.array(PayoutLineSchema),
    subtotal: z.number().int(),
    carried_in: z.number().int().describe('Balance carried over from earlier statements'),
    total: z.number().int().describe('subtotal + carried_in'),
    minimum: z.number().int(),
    payable: z.number().int().describe('total when it reaches the minimum, else 0'),
    carried_out: z.number().int().describe('What the next statement carries in'),
  }),
});

export const PayoutProcessing = defineEvent({
  ...common,
  type: 'payout.processing',
  version: 1,
  description: 'A Stripe Connect transfer of the payout was started (its idempotency key is the payout id).',
  data: z.object({
    payout_id: safeText(),
    partner_id: safeText(),
    destination: safeText(),
    amount: z.number().int(),
    currency: safeText(),
  }),
});

export const PayoutPaid = defineEvent({
  ...common,
  type: 'payout.paid',
  version: 1,
  description: 'The payout was transferred to the partner (Stripe Connect transfer).',
  data: z.object({
    payout_id: safeText(),
    partner_id: safeText(),
    transfer_id: safeText(),
    destination: safeText(),
    amount: z.number().int(),
    currency: safeText(),
  }),
});

export const PayoutFailed = defineEvent({
  ...common,
  type: 'payout.failed',
  version: 1,
  description: 'Stripe refused the transfer; the next payout run tries again with the same idempotency key.',
  data: z.object({ payout_id: safeText(), partner_id: safeText(), reason: safeText(), code: safeText().nullable() }),
});

export const payoutDomainEvents = [PayoutCreated, PayoutProcessing, PayoutPaid, PayoutFailed] as const;

export const PayoutViewSchema = z
  .object({
    object: z.literal('payout'),
    id: safeText(),
    partner_id: safeText(),
    status: PayoutStatusSchema,
    period: z.object({ start: safeText(), end: safeText() }),
    currency: safeText(),
    subtotal: z.number().int(),
    carried_in: z.number().int(),
    payable: z.number().int(),
    carried_out: z.number().int(),
    transfer_id: safeText().nullable(),
    failure_reason: safeText().nullable(),
    created_at: safeText(),
  })
  .meta({ id: 'Payout' });

export const PayoutStatementSchema = PayoutViewSchema.extend({
  object: z.literal('payout_statement'),
  minimum: z.number().int(),
  total: z.number().int(),
  lines: z.array(PayoutLineSchema),
}).meta({ id: 'PayoutStatement' });

export const RunPayoutsBody = z
  .object({ period: safeText().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month like "2026-10"') })
  .strict()
  .meta({ id: 'RunPayouts' });

export const PayoutRunResultSchema = z.object({
  period: safeText(),
  created: z.number().int(),
  paid: z.number().int(),
  failed: z.number().int(),
  carried_over: z.number().int(),
});

const route = { tag: 'Billing', service: 'billing' } as const;
const PayoutIdParams = z.object({ id: PayoutId() });
export const billingPayoutRoutes = defineRoutes([
  {
    ...route,
    operationId: 'runBillingPayouts',
    method: 'POST',
    path: '/v1/billing/payout-runs',
    summary: "Compute every partner's revenue-share statement for a month and pay it by Stripe Connect transfer (idempotent)",
    pattern: 'payouts.run',
    scope: 'admin',
    adminOnly: true,
    body: RunPayoutsBody,
    success: { status: 200, schema: PayoutRunResultSchema },
    errors: [502],
    timeoutMs: 60_000,
  },
  {
    ...route,
    operationId: 'listBillingPayouts',
    method: 'GET',
    path: '/v1/billing/payouts',
    summary: 'Payouts, newest period first (a partner sees its own)',
    pattern: 'payouts.list',
    scope: 'read:billing',
    query: PageQuerySchema.extend({ partner_id: PlatformId('prt').optional().describe('Admin credentials name the partner') }).strict(),
    success: { status: 200, schema: pageOf(PayoutViewSchema) },
  },
  {
    ...route,
    operationId: 'getBillingPayout',
    method: 'GET',
    path: '/v1/billing/payouts/:id',
    summary: 'A payout and its status',
    pattern: 'payouts.get',
    scope: 'read:billing',
    params: PayoutIdParams,
    success: { status: 200, schema: PayoutViewSchema },
  },
  {
    ...route,
    operationId: 'getBillingPayoutStatement',
    method: 'GET',
    path: '/v1/billing/payouts/:id/statement',
    summary: 'The payout statement: each source payment, the share taken, and the balance carried over',
    pattern: 'payouts.statement',
    scope: 'read:billing',
    params: PayoutIdParams,
    success: { status: 200, schema: PayoutStatementSchema },
  },
]);
