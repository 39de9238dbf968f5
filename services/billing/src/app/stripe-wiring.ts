import type { CommandBus } from '@pep/events';
import { AppError } from '@pep/runtime';
import type { ServiceContext } from '@pep/service';
import type { BillingSettings } from '../config.ts';
import type { BillingDB } from '../db/schema.ts';
import { recordInvoicePayment, recordInvoicePaymentFailed } from './invoice-payments.ts';
import type { PayoutDeps } from './payout-run.ts';
import { startStripeCollection } from './stripe-collect.ts';
import { createStripeClient } from './stripe-client.ts';
import { createStripeWebhooks, type InvoicePaymentSink } from './stripe-webhooks.ts';

/** Billing's Stripe side, built once per service context: the SDK client, webhook ingress, payouts, collection. */
export function wireStripe(ctx: ServiceContext<BillingDB, BillingSettings>, commands: CommandBus) {
  const stripe = createStripeClient(ctx.config, ctx.metrics);
  const deps = { db: ctx.db, commands, settings: ctx.config };
  // A payment our invoice refuses (void, paid by another payment, wrong amount) is logged, not retried by Stripe forever.
  const refusedByInvoice = (invoiceId: string) => (err: unknown) => {
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    ctx.logger.warn('a Stripe invoice payment was refused by the invoice', { invoice_id: invoiceId, err });
  };
  const payments: InvoicePaymentSink = {
    paid: (a) => recordInvoicePayment(deps, a).catch(refusedByInvoice(a.invoiceId)),
    failed: (a) => recordInvoicePaymentFailed(deps, a).catch(refusedByInvoice(a.invoiceId)),
  };
  const webhooks = createStripeWebhooks({
    db: ctx.db,
    stripe,
    logger: ctx.logger,
    metrics: ctx.metrics,
    webhookSecret: ctx.config.STRIPE_WEBHOOK_SECRET,
    toleranceS: ctx.config.STRIPE_WEBHOOK_TOLERANCE_S,
    payments,
  });
  const payouts: PayoutDeps = { db: ctx.db, commands, projections: ctx.projections, logger: ctx.logger, stripe, settings: ctx.config };
  return {
    stripe,
    webhooks,
    payouts,
    startCollection: () => startStripeCollection({ bus: ctx.bus, db: ctx.db, stripe, logger: ctx.logger, deadLetters: ctx.deadLetters }),
  };
}
