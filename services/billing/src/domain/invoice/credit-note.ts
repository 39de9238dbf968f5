import { IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import type { InvoiceState } from './invoice.ts';

export interface IssueCreditNote {
  type: 'IssueCreditNote';
  invoiceId: string;
  /** The invoice's number when it is finalized (the numbering subject decides that), else null. */
  invoiceNumber: string | null;
  reason: string;
  lines: { description: string; amount: number }[];
  issuedAt: string;
}

/** The remaining total a credit note may still credit. */
export const creditableOf = (s: InvoiceState) => Math.max(0, (s.total ?? 0) - (s.credited ?? 0));

/**
 * A credit note corrects a finalized invoice without editing it: its lines (positive minor units) credit at most the
 * invoice's remaining total (total − earlier credit notes). Refused on a draft (not finalized: edit nothing, void it)
 * and on a void invoice (nothing is owed). Its id and number follow the invoice's: `<invoice id>_cn<n>`,
 * `<invoice number>-CN<n>`; two concurrent notes are serialized by the invoice subject's expected sequence.
 */
export function decideCreditNote(c: IssueCreditNote, state: InvoiceState) {
  if (!state.created || !state.partnerId) throw new NotFoundError(`invoice ${c.invoiceId} not found`);
  if (state.closed === 'void') throw new IllegalTransitionError(`invoice ${c.invoiceId} is void`);
  if (!c.invoiceNumber) throw new IllegalTransitionError(`invoice ${c.invoiceId} is a draft; only a finalized invoice takes credit notes`);
  const amount = c.lines.reduce((s, l) => s + l.amount, 0);
  const remaining = creditableOf(state);
  if (!Number.isSafeInteger(amount) || amount <= 0)
    throw new ValidationError([{ path: 'lines', message: 'must credit a positive amount' }]);
  if (amount > remaining)
    throw new ValidationError([{ path: 'lines', message: `credits ${amount}, more than the invoice's remaining ${remaining}` }]);
  const n = (state.creditNotes?.length ?? 0) + 1;
  return [
    {
      type: 'billing.credit_note_issued' as const,
      partnerid: state.partnerId,
      data: {
        credit_note_id: `${c.invoiceId}_cn${n}`,
        invoice_id: c.invoiceId,
        partner_id: state.partnerId,
        number: `${c.invoiceNumber}-CN${n}`,
        amount,
        currency: state.currency ?? '',
        reason: c.reason,
        lines: c.lines,
        issued_at: c.issuedAt,
      },
    },
  ];
}
