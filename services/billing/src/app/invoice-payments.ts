import type { CommandBus } from '@pep/events';
import { NotFoundError } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../db/schema.ts';
import { invoiceAggregate, numberingAggregate } from '../domain/invoice/invoice.ts';
import { decideInvoicePayment } from '../domain/invoice/payment.ts';
import { invoiceById, invoiceView } from '../projections/invoices/index.ts';

export interface InvoicePaymentDeps {
  db: Kysely<BillingDB>;
  commands: CommandBus;
  settings: { INVOICE_ISSUER: string };
}

export interface CommandOrigin {
  correlationId?: string | undefined;
  causationId?: string | undefined;
  traceparent?: string | undefined;
}

/** Whether the issuer numbered the invoice (its numbering subject is the truth; the read model may lag). */
async function isFinalized(deps: InvoicePaymentDeps, invoiceId: string): Promise<boolean> {
  const numbering = await deps.commands.load(numberingAggregate, deps.settings.INVOICE_ISSUER);
  return numbering.state.numbered[invoiceId] !== undefined;
}

async function view(deps: InvoicePaymentDeps, invoiceId: string) {
  const row = await invoiceById(deps.db, invoiceId);
  if (!row) throw new NotFoundError(`invoice ${invoiceId} not found`);
  return invoiceView(row);
}

/**
 * Records a payment of a finalized invoice (open | uncollectible → paid), e.g. from a Stripe `invoice.paid` webhook.
 * Idempotent on `paymentRef`: the same payment again records nothing and answers the invoice as it is. Refused (409)
 * on a void invoice, a draft, or an invoice another payment already paid; 422 on a wrong currency or amount.
 */
export async function recordInvoicePayment(
  deps: InvoicePaymentDeps,
  p: { invoiceId: string; paymentRef: string; amount: number; currency: string; paidAt: Date | string },
  origin: CommandOrigin = {},
) {
  const finalized = await isFinalized(deps, p.invoiceId);
  const paidAt = typeof p.paidAt === 'string' ? new Date(p.paidAt).toISOString() : p.paidAt.toISOString();
  const result = await deps.commands.execute(invoiceAggregate, p.invoiceId, origin, (s) =>
    decideInvoicePayment(
      {
        type: 'RecordPayment',
        invoiceId: p.invoiceId,
        finalized,
        paymentRef: p.paymentRef,
        amount: p.amount,
        currency: p.currency,
        paidAt,
      },
      s,
    ),
  );
  return { recorded: result.events.length > 0, invoice: await view(deps, p.invoiceId) };
}

/**
 * Records a failed collection attempt (e.g. Stripe `invoice.payment_failed`), idempotent on (paymentRef, attempt).
 * The failed-payment email (with the retry schedule) follows from the event through billing's mail outbox.
 */
export async function recordInvoicePaymentFailed(
  deps: InvoicePaymentDeps,
  p: { invoiceId: string; paymentRef: string; attempt: number; nextRetryAt?: Date | string | undefined; reason: string },
  origin: CommandOrigin = {},
) {
  const nextRetryAt = p.nextRetryAt === undefined ? undefined : new Date(p.nextRetryAt).toISOString();
  const result = await deps.commands.execute(invoiceAggregate, p.invoiceId, origin, (s) =>
    decideInvoicePayment(
      {
        type: 'RecordPaymentFailed',
        invoiceId: p.invoiceId,
        paymentRef: p.paymentRef,
        attempt: p.attempt,
        nextRetryAt,
        reason: p.reason,
        failedAt: new Date().toISOString(),
      },
      s,
    ),
  );
  return { recorded: result.events.length > 0, invoice: await view(deps, p.invoiceId) };
}
