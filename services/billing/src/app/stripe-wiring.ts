import type { CommandBus } from '@pep/events';
import type { ServiceContext } from '@pep/service';
import type { BillingSettings } from '../config.ts';
import type { BillingDB } from '../db/schema.ts';
import type { PayoutDeps } from './payout-run.ts';
import { startStripeCollection } from './stripe-collect.ts';
import { createStripeClient } from './stripe-client.ts';
import { createStripeWebhooks, type InvoicePaymentSink } from './stripe-webhooks.ts';

/** Billing's Stripe side, built once per service context: the SDK client, webhook ingress, payouts, collection. */
export function wireStripe(ctx: ServiceContext<BillingDB, BillingSettings>, commands: CommandBus) {
  const stripe = createStripeClient(ctx.config, ctx.metrics);
  const payments: InvoicePaymentSink = {
    paid: async (a) => {
      ctx.logger.warn('invoice payment not recorded: invoice payments are not built', { invoice_id: a.invoiceId });
    },
    failed: async (a) => {
      ctx.logger.warn('invoice payment failure not recorded: invoice payments are not built', { invoice_id: a.invoiceId });
    },
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
