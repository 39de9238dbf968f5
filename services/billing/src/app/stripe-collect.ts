import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type DeadLetterSink, type EventBus, startWorker } from '@pep/events';
import type { Logger } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { BillingDB } from '../db/schema.ts';
import { numberingAggregate } from '../domain/invoice/invoice.ts';
import { stripeRefusal } from './stripe-client.ts';

export const STRIPE_COLLECT_WORKER = 'billing-stripe-collect';

interface Finalized {
  invoice_id: string;
  partner_id: string;
  number: string;
  total: number;
  currency: string;
}

/** The partner's Stripe customer, created once (idempotency key from the partner id) and kept. */
export async function partnerCustomer(db: Kysely<BillingDB>, stripe: Stripe, partnerId: string): Promise<string> {
  const row = await db.selectFrom('stripe_partner_accounts').select('customer_id').where('partner_id', '=', partnerId).executeTakeFirst();
  if (row?.customer_id) return row.customer_id;
  const c = await stripe.customers.create({ metadata: { platform_partner_id: partnerId } }, { idempotencyKey: `customer:${partnerId}` });
  await db
    .insertInto('stripe_partner_accounts')
    .values({ partner_id: partnerId, customer_id: c.id, connect_account_id: null })
    .onConflict((oc) => oc.column('partner_id').doUpdateSet({ customer_id: c.id }))
    .execute();
  return c.id;
}

/**
 * Sends a finalized invoice to Stripe for the partner's customer and collects it. Every request carries an
 * idempotency key derived from our invoice id, so a redelivered event (or a crash half-way) repeats nothing at
 * Stripe. A declined payment is an answer, not a failure: Stripe's invoice.payment_failed webhook follows.
 */
export async function collectInvoice(deps: { db: Kysely<BillingDB>; stripe: Stripe; logger: Logger }, f: Finalized) {
  if (f.total <= 0) return { skipped: true };
  const customer = await partnerCustomer(deps.db, deps.stripe, f.partner_id);
  const currency = f.currency.toLowerCase();
  const inv = await deps.stripe.invoices.create(
    {
      customer,
      currency,
      auto_advance: false,
      description: `Invoice ${f.number}`,
      metadata: { invoice_id: f.invoice_id, number: f.number },
    },
    { idempotencyKey: f.invoice_id },
  );
  await deps.db
    .insertInto('stripe_invoices')
    .values({ invoice_id: f.invoice_id, stripe_invoice_id: inv.id as string, partner_id: f.partner_id, status: 'open' })
    .onConflict((oc) => oc.column('invoice_id').doNothing())
    .execute();
  if (inv.status === 'draft') {
    await deps.stripe.invoiceItems.create(
      { customer, invoice: inv.id as string, amount: f.total, currency, description: `Invoice ${f.number}` },
      { idempotencyKey: `${f.invoice_id}:item` },
    );
    await deps.stripe.invoices.finalizeInvoice(inv.id as string, {}, { idempotencyKey: `${f.invoice_id}:finalize` });
  }
  try {
    await deps.stripe.invoices.pay(inv.id as string, {}, { idempotencyKey: `${f.invoice_id}:pay` });
  } catch (err) {
    const refused = stripeRefusal(err);
    if (refused?.status !== 402) throw err;
    deps.logger.info('stripe declined an invoice payment; its webhook records it', { invoice_id: f.invoice_id, code: refused.code });
  }
  return { skipped: false };
}

export function startStripeCollection(opts: {
  bus: EventBus;
  db: Kysely<BillingDB>;
  stripe: Stripe;
  logger: Logger;
  deadLetters: DeadLetterSink;
}) {
  return startWorker({
    bus: opts.bus,
    durable: STRIPE_COLLECT_WORKER,
    filterSubject: aggregateFilter(opts.bus.prefix, numberingAggregate.kind),
    concurrency: 4,
    deadLetters: opts.deadLetters,
    logger: opts.logger,
    handle: async (e: StoredEvent) => {
      if (e.type !== 'billing.invoice_finalized') return;
      await collectInvoice(opts, e.data as Finalized);
    },
  });
}
