import { ConflictError, IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { AggregateKind } from '@pep/events';
import { addDays, type IsoDate, type Period } from '../pricing/period.ts';
import type { Quote } from '../pricing/quote.ts';

export const INVOICES_PROJECTION = 'billing-invoices';

/** The invoice of a partner and month has one id, whoever creates it: the key of the job's idempotency. */
export const invoiceIdOf = (partnerId: string, month: Period) => `inv_${partnerId}_${month.start.slice(0, 7).replace('-', '')}`;

export interface InvoiceState {
  created: boolean;
  partnerId?: string;
  currency?: string;
  total?: number;
  /** The statuses the invoice's own subject decides (open comes from the issuer's numbering subject). */
  closed?: 'void' | 'uncollectible';
  /** Set by the first recorded payment. */
  paid?: boolean;
  amountPaid?: number;
  /** Payment references already recorded (a payment is recorded once per reference). */
  payments?: string[];
  /** `<payment_ref>#<attempt>` of every recorded failed attempt. */
  failures?: string[];
  /** Sum of the credit notes issued against the invoice (minor units). */
  credited?: number;
  creditNotes?: string[];
}
export const invoiceAggregate: AggregateKind<InvoiceState> = {
  kind: 'billing_invoice',
  initial: () => ({ created: false }),
  evolve: (s, e) => {
    switch (e.type) {
      case 'billing.invoice_created': {
        const d = e.data as { partner_id: string; currency?: string; total?: number };
        return {
          created: true,
          partnerId: d.partner_id,
          ...(d.currency ? { currency: d.currency } : {}),
          ...(d.total !== undefined ? { total: d.total } : {}),
        };
      }
      case 'billing.invoice_voided':
        return { ...s, closed: 'void' };
      case 'billing.invoice_marked_uncollectible':
        return { ...s, closed: 'uncollectible' };
      case 'billing.invoice_paid': {
        const d = e.data as { amount: number; payment_ref: string };
        return { ...s, paid: true, amountPaid: (s.amountPaid ?? 0) + d.amount, payments: [...(s.payments ?? []), d.payment_ref] };
      }
      case 'billing.invoice_payment_failed': {
        const d = e.data as { attempt: number; payment_ref: string };
        return { ...s, failures: [...(s.failures ?? []), `${d.payment_ref}#${d.attempt}`] };
      }
      case 'billing.credit_note_issued': {
        const d = e.data as { credit_note_id: string; amount: number };
        return { ...s, credited: (s.credited ?? 0) + d.amount, creditNotes: [...(s.creditNotes ?? []), d.credit_note_id] };
      }
      default:
        return s;
    }
  },
  projection: INVOICES_PROJECTION,
};

export type InvoiceStatusCommand =
  | { type: 'VoidInvoice'; invoiceId: string; reason?: string | undefined }
  | { type: 'MarkUncollectible'; invoiceId: string; finalized: boolean };

/**
 * draft → open → paid | void | uncollectible. A draft, open or uncollectible invoice may be voided (again: nothing);
 * only an open (finalized) invoice may be marked uncollectible; a paid one is neither. A finalized invoice is never
 * edited: corrections are credit notes (credit-note.ts), payments are recorded by payment.ts.
 */
export function decideInvoiceStatus(c: InvoiceStatusCommand, state: InvoiceState): { type: string; data: Record<string, unknown> }[] {
  if (!state.created || !state.partnerId) throw new NotFoundError(`invoice ${c.invoiceId} not found`);
  const base = { invoice_id: c.invoiceId, partner_id: state.partnerId };
  switch (c.type) {
    case 'VoidInvoice':
      if (state.closed === 'void') return [];
      if (state.paid) throw new IllegalTransitionError(`invoice ${c.invoiceId} is paid; correct it with a credit note`);
      return [{ type: 'billing.invoice_voided' as const, data: { ...base, ...(c.reason ? { reason: c.reason } : {}) } }];
    case 'MarkUncollectible':
      if (state.closed === 'uncollectible') return [];
      if (state.paid) throw new IllegalTransitionError(`invoice ${c.invoiceId} is paid`);
      if (state.closed === 'void') throw new IllegalTransitionError(`invoice ${c.invoiceId} is void`);
      if (!c.finalized) throw new IllegalTransitionError(`invoice ${c.invoiceId} is a draft; only an open invoice can be uncollectible`);
      return [{ type: 'billing.invoice_marked_uncollectible' as const, data: base }];
    default: {
      const never: never = c;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}

/** Creating an invoice that exists decides nothing (a second run, a second replica, a restart). */
export function decideCreateInvoice(
  c: {
    invoiceId: string;
    partnerId: string;
    subscriptionId: string;
    month: Period;
    draft: Quote;
    usage?: Record<string, number>;
    timezone?: string;
  },
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
        ...(c.usage ? { usage: c.usage } : {}),
        ...(c.timezone ? { timezone: c.timezone } : {}),
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
