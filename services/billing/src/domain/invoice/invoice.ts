import { ConflictError } from '@pep/runtime';
import type { AggregateKind } from '@pep/events';
import { addDays, type IsoDate, type Period } from '../pricing/period.ts';
import type { Quote } from '../pricing/quote.ts';

export const INVOICES_PROJECTION = 'billing-invoices';

/** The invoice of a partner and month has one id, whoever creates it: the key of the job's idempotency. */
export const invoiceIdOf = (partnerId: string, month: Period) => `inv_${partnerId}_${month.start.slice(0, 7).replace('-', '')}`;

export interface InvoiceState {
  created: boolean;
}
export const invoiceAggregate: AggregateKind<InvoiceState> = {
  kind: 'billing_invoice',
  initial: () => ({ created: false }),
  evolve: (s, e) => (e.type === 'billing.invoice_created' ? { created: true } : s),
  projection: INVOICES_PROJECTION,
};

/** Creating an invoice that exists decides nothing (a second run, a second replica, a restart). */
export function decideCreateInvoice(
  c: { invoiceId: string; partnerId: string; subscriptionId: string; month: Period; draft: Quote },
  state: InvoiceState,
) {
  if (state.created) return [];
  return [
    {
      type: 'billing.invoice_created' as const,
      data: {
        invoice_id: c.invoiceId,
        partner_id: c.partnerId,
        subscription_id: c.subscriptionId,
        period: c.month,
        currency: c.draft.currency,
        lines: c.draft.lines,
        total: c.draft.total,
      },
    },
  ];
}

/** The numbering of one issuer: the invoices it numbered, in order. */
export interface NumberingState {
  count: number;
  numbered: Record<string, number>;
}
export const numberingAggregate: AggregateKind<NumberingState> = {
  kind: 'billing_invoice_numbering',
  initial: () => ({ count: 0, numbered: {} }),
  evolve: (s, e) => {
    if (e.type !== 'billing.invoice_finalized') return s;
    const d = e.data as { invoice_id: string; sequence: number };
    return { count: d.sequence, numbered: { ...s.numbered, [d.invoice_id]: d.sequence } };
  },
  projection: INVOICES_PROJECTION,
};

/**
 * Finalizing takes the issuer's next number: the event is appended to the issuer's numbering subject expecting its
 * last sequence, so two finalizations never take the same number and none is skipped (gap-free). An invoice that
 * already has a number decides nothing.
 */
export function decideFinalizeInvoice(
  c: {
    invoiceId: string;
    partnerId: string;
    issuer: string;
    prefix: string;
    today: IsoDate;
    dueDays: number;
    total: number;
    currency: string;
  },
  state: NumberingState,
) {
  if (state.numbered[c.invoiceId] !== undefined) return [];
  const sequence = state.count + 1;
  if (!Number.isSafeInteger(sequence)) throw new ConflictError('invoice numbers exhausted');
  return [
    {
      type: 'billing.invoice_finalized' as const,
      data: {
        invoice_id: c.invoiceId,
        partner_id: c.partnerId,
        issuer: c.issuer,
        number: `${c.prefix}-${String(sequence).padStart(6, '0')}`,
        sequence,
        finalized_on: c.today,
        due_date: addDays(c.today, c.dueDays),
        total: c.total,
        currency: c.currency,
      },
    },
  ];
}
