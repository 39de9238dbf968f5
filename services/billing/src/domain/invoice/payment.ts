import { IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import type { InvoiceState } from './invoice.ts';

export type InvoicePaymentCommand =
  | {
      type: 'RecordPayment';
      invoiceId: string;
      /** Whether the invoice has its number (open); the numbering subject decides that, not the invoice's. */
      finalized: boolean;
      paymentRef: string;
      amount: number;
      currency: string;
      paidAt: string;
    }
  | {
      type: 'RecordPaymentFailed';
      invoiceId: string;
      paymentRef: string;
      attempt: number;
      nextRetryAt?: string | undefined;
      reason: string;
      failedAt: string;
    };

/**
 * Payments of an invoice (they come from the payment provider, e.g. Stripe's webhooks, which may deliver twice):
 * - RecordPayment is idempotent on `paymentRef` (the same reference again decides nothing); it is refused on a void
 *   invoice, on a draft (no number yet), on a currency other than the invoice's, and on an invoice already paid by
 *   another reference (a double charge is the provider's to refund, not ours to hide). open | uncollectible → paid.
 * - RecordPaymentFailed is idempotent on (`paymentRef`, `attempt`); a late failure of a paid invoice decides
 *   nothing, a void invoice refuses it.
 */
export interface DecidedInvoiceEvent {
  type: 'billing.invoice_paid' | 'billing.invoice_payment_failed';
  partnerid: string;
  data: Record<string, unknown>;
}

export function decideInvoicePayment(c: InvoicePaymentCommand, state: InvoiceState): DecidedInvoiceEvent[] {
  if (!state.created || !state.partnerId) throw new NotFoundError(`invoice ${c.invoiceId} not found`);
  const partnerId = state.partnerId;
  switch (c.type) {
    case 'RecordPayment': {
      if (state.payments?.includes(c.paymentRef)) return [];
      if (state.closed === 'void') throw new IllegalTransitionError(`invoice ${c.invoiceId} is void`);
      if (!c.finalized) throw new IllegalTransitionError(`invoice ${c.invoiceId} is a draft; only an open invoice can be paid`);
      if (state.paid) throw new IllegalTransitionError(`invoice ${c.invoiceId} is already paid by another payment`);
      if (!Number.isSafeInteger(c.amount) || c.amount <= 0)
        throw new ValidationError([{ path: 'amount', message: 'must be a positive integer in minor units' }]);
      if (state.currency && c.currency.toUpperCase() !== state.currency.toUpperCase())
        throw new ValidationError([{ path: 'currency', message: `the invoice is in ${state.currency}` }]);
      return [
        {
          type: 'billing.invoice_paid' as const,
          partnerid: partnerId,
          data: {
            invoice_id: c.invoiceId,
            partner_id: partnerId,
            amount: c.amount,
            currency: state.currency ?? c.currency.toUpperCase(),
            payment_ref: c.paymentRef,
            paid_at: c.paidAt,
          },
        },
      ];
    }
    case 'RecordPaymentFailed': {
      if (state.failures?.includes(`${c.paymentRef}#${c.attempt}`)) return [];
      if (state.paid) return [];
      if (state.closed === 'void') throw new IllegalTransitionError(`invoice ${c.invoiceId} is void`);
      if (!Number.isSafeInteger(c.attempt) || c.attempt < 1)
        throw new ValidationError([{ path: 'attempt', message: 'must be a positive integer' }]);
      return [
        {
          type: 'billing.invoice_payment_failed' as const,
          partnerid: partnerId,
          data: {
            invoice_id: c.invoiceId,
            partner_id: partnerId,
            payment_ref: c.paymentRef,
            attempt: c.attempt,
            ...(c.nextRetryAt ? { next_retry_at: c.nextRetryAt } : {}),
            reason: c.reason.slice(0, 500),
            failed_at: c.failedAt,
          },
        },
      ];
    }
    default: {
      const never: never = c;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}
