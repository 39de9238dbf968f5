import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { amount, code, currency, date, id, timestamp } from './common.ts';

/**
 * Billing events a partner reports about its own customers (usage, invoices, payments). Amounts are integers in
 * the currency's minor unit, as in Stripe's API.
 */
const common = { origin: 'external', category: 'billing' } as const;

export const BillingUsageUpdated = defineEvent({
  ...common,
  type: 'billing.usage_updated',
  version: 1,
  description: 'Metered usage for a billing period changed (the new total, not a delta).',
  data: z
    .object({
      customer_id: id(),
      metric: code().describe('What is metered, e.g. "api_calls", "seats"'),
      quantity: z.number().min(0).describe('Total for the period so far'),
      unit: safeText().max(32).optional(),
      subscription_id: id().optional(),
      application_id: id().optional(),
      period_start: timestamp(),
      period_end: timestamp(),
    })
    .strict()
    .refine((d) => Date.parse(d.period_end) > Date.parse(d.period_start), {
      message: 'period_end must be after period_start',
      path: ['period_end'],
    }),
});

const LineItem = z
  .object({
    description: safeText().min(1).max(500),
    quantity: z.number().min(0),
    unit_amount: amount(),
    amount: amount(),
  })
  .strict();

export const BillingInvoiceGenerated = defineEvent({
  ...common,
  type: 'billing.invoice_generated',
  version: 1,
  description: 'An invoice was issued to a customer.',
  data: z
    .object({
      invoice_id: id(),
      customer_id: id(),
      invoice_number: safeText().min(1).max(64).optional(),
      currency: currency(),
      subtotal: amount(),
      tax: amount().default(0),
      total: amount(),
      due_date: date().optional(),
      period_start: timestamp().optional(),
      period_end: timestamp().optional(),
      line_items: z.array(LineItem).max(500).optional(),
    })
    .strict()
    .refine((d) => d.total === d.subtotal + d.tax, { message: 'total must equal subtotal + tax', path: ['total'] }),
});

export const BillingPaymentReceived = defineEvent({
  ...common,
  type: 'billing.payment_received',
  version: 1,
  description: 'A payment from a customer was received (and applied to an invoice, when one is named).',
  data: z
    .object({
      payment_id: id(),
      customer_id: id(),
      invoice_id: id().optional(),
      amount: amount(),
      currency: currency(),
      method: z.enum(['card', 'bank_transfer', 'ach_debit', 'sepa_debit', 'check', 'other']),
      external_reference: safeText().max(255).optional().describe("The payment provider's id, e.g. a Stripe PaymentIntent"),
      received_at: timestamp().optional(),
    })
    .strict(),
});

export const billingEvents = [BillingUsageUpdated, BillingInvoiceGenerated, BillingPaymentReceived] as const;
