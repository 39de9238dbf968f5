import { IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { decideInvoiceStatus, type InvoiceState, invoiceAggregate } from '../src/domain/invoice/invoice.ts';
import { type DecidedInvoiceEvent, decideInvoicePayment, type InvoicePaymentCommand } from '../src/domain/invoice/payment.ts';

const P = 'prt_1x000000000000000000000000';
type Ev = { type: string; data: Record<string, unknown> };
const evolve = (s: InvoiceState, e: Ev | DecidedInvoiceEvent) => invoiceAggregate.evolve(s, e as never);
const spec = deciderSpec<InvoiceState, InvoicePaymentCommand, Ev>({
  decide: (c, s) => decideInvoicePayment(c, s).map(({ type, data }) => ({ type, data })),
  evolve,
  initialState: invoiceAggregate.initial,
});
const created: Ev = {
  type: 'billing.invoice_created',
  data: { invoice_id: 'inv_1', partner_id: P, currency: 'USD', total: 3000, lines: [] },
};
const pay = (paymentRef = 'in_1', over: Partial<InvoicePaymentCommand & { type: 'RecordPayment' }> = {}): InvoicePaymentCommand => ({
  type: 'RecordPayment',
  invoiceId: 'inv_1',
  finalized: true,
  paymentRef,
  amount: 3000,
  currency: 'USD',
  paidAt: '2026-11-03T10:00:00.000Z',
  ...over,
});
const paid = (paymentRef = 'in_1'): Ev => ({
  type: 'billing.invoice_paid',
  data: { invoice_id: 'inv_1', partner_id: P, amount: 3000, currency: 'USD', payment_ref: paymentRef, paid_at: '2026-11-03T10:00:00.000Z' },
});
const fail = (attempt: number): InvoicePaymentCommand => ({
  type: 'RecordPaymentFailed',
  invoiceId: 'inv_1',
  paymentRef: 'in_1',
  attempt,
  nextRetryAt: '2026-11-06T10:00:00.000Z',
  reason: 'card_declined',
  failedAt: '2026-11-03T10:00:00.000Z',
});

describe('invoice payment decider', () => {
  it('given an open invoice, when RecordPayment, then invoice_paid; the same payment_ref again decides nothing', () => {
    spec.given([created]).when(pay()).thenEvents([paid()]);
    spec.given([created, paid()]).when(pay()).thenEvents([]);
    const s = [created, paid()].reduce(evolve, invoiceAggregate.initial());
    expect([s.paid, s.amountPaid]).toEqual([true, 3000]);
  });
  it('refuses a void invoice, a draft, another payment of a paid invoice, a wrong currency and a zero amount', () => {
    spec
      .given([created, { type: 'billing.invoice_voided', data: { invoice_id: 'inv_1' } }])
      .when(pay())
      .thenThrows(IllegalTransitionError);
    spec
      .given([created])
      .when(pay('in_1', { finalized: false }))
      .thenThrows(IllegalTransitionError);
    spec.given([created, paid()]).when(pay('ch_other')).thenThrows(IllegalTransitionError);
    spec
      .given([created])
      .when(pay('in_1', { currency: 'EUR' }))
      .thenThrows(ValidationError);
    spec
      .given([created])
      .when(pay('in_1', { amount: 0 }))
      .thenThrows(ValidationError);
    spec.given().when(pay()).thenThrows(NotFoundError);
  });
  it('an uncollectible invoice can still be paid; a paid one can be neither voided nor marked uncollectible', () => {
    spec
      .given([created, { type: 'billing.invoice_marked_uncollectible', data: { invoice_id: 'inv_1' } }])
      .when(pay())
      .thenEvents([paid()]);
    const s = [created, paid()].reduce(evolve, invoiceAggregate.initial());
    expect(() => decideInvoiceStatus({ type: 'VoidInvoice', invoiceId: 'inv_1' }, s)).toThrow(IllegalTransitionError);
    expect(() => decideInvoiceStatus({ type: 'MarkUncollectible', invoiceId: 'inv_1', finalized: true }, s)).toThrow(
      IllegalTransitionError,
    );
  });
  it('records a failed attempt once per payment_ref and attempt; a late failure of a paid invoice decides nothing', () => {
    const first = spec.given([created]).when(fail(1)).events();
    expect(first.map((e) => [e.type, e.data.attempt, e.data.next_retry_at])).toEqual([
      ['billing.invoice_payment_failed', 1, '2026-11-06T10:00:00.000Z'],
    ]);
    spec
      .given([created, ...first])
      .when(fail(1))
      .thenEvents([]);
    expect(
      spec
        .given([created, ...first])
        .when(fail(2))
        .events(),
    ).toHaveLength(1);
    spec.given([created, paid()]).when(fail(3)).thenEvents([]);
    spec
      .given([created, { type: 'billing.invoice_voided', data: { invoice_id: 'inv_1' } }])
      .when(fail(1))
      .thenThrows(IllegalTransitionError);
  });
});
