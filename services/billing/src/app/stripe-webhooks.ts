import { BadRequestError, type Logger, type Metrics } from '@pep/runtime';
import type { Kysely, Transaction } from 'kysely';
import Stripe from 'stripe';
import type { BillingDB } from '../db/schema.ts';
import { syncCharge, syncSubscription } from './stripe-sync.ts';

/** Where a Stripe invoice payment lands: our invoice's payment commands (app/invoice-payments.ts). */
export interface InvoicePaymentSink {
  paid(a: { invoiceId: string; paymentRef: string; amount: number; currency: string; paidAt: string }): Promise<unknown>;
  failed(a: { invoiceId: string; paymentRef: string; attempt: number; nextRetryAt?: string; reason: string }): Promise<unknown>;
}

export interface StripeWebhookDeps {
  db: Kysely<BillingDB>;
  stripe: Stripe;
  logger: Logger;
  metrics?: Metrics;
  webhookSecret: string;
  toleranceS: number;
  payments: InvoicePaymentSink;
}

export const HANDLED_STRIPE_EVENTS = [
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.payment_succeeded',
  'invoice.payment_failed',
  'charge.succeeded',
  'charge.failed',
  'charge.refunded',
] as const;

const iso = (s: number) => new Date(s * 1000).toISOString();

/**
 * Stripe webhook ingress: `Stripe-Signature` is verified over the raw body with `stripe.webhooks.constructEvent`
 * (tolerance STRIPE_WEBHOOK_TOLERANCE_S); a forged or stale signature is 400 and nothing changes. The event id is
 * inserted into `stripe_events` in the same transaction as the event's effect, so a redelivery (Stripe retries,
 * or delivers twice) changes nothing more; an effect that fails rolls the id back and Stripe's retry tries again.
 */
export function createStripeWebhooks(deps: StripeWebhookDeps) {
  const webhooks = deps.metrics?.counter('stripe_webhooks_total', 'Stripe webhook deliveries by event type and outcome', [
    'type',
    'outcome',
  ]);
  const payments = deps.metrics?.counter('stripe_payments_total', 'Payments Stripe reported (charges) by outcome', ['outcome']);
  for (const outcome of ['processed', 'duplicate', 'ignored', 'rejected', 'failed'])
    webhooks?.inc({ type: 'charge.succeeded', outcome }, 0);
  for (const outcome of ['succeeded', 'failed', 'refunded']) payments?.inc({ outcome }, 0);

  async function apply(trx: Transaction<BillingDB>, e: Stripe.Event): Promise<boolean> {
    switch (e.type) {
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted':
        await syncSubscription(trx, deps.stripe, e.data.object);
        return true;
      case 'charge.succeeded':
      case 'charge.failed':
      case 'charge.refunded':
        await syncCharge(trx, deps.stripe, e.data.object);
        return true;
      case 'invoice.payment_succeeded':
      case 'invoice.payment_failed': {
        const inv = e.data.object;
        const invoiceId = inv.metadata?.invoice_id;
        if (!invoiceId || !inv.id) return false;
        const paid = e.type === 'invoice.payment_succeeded';
        await trx
          .updateTable('stripe_invoices')
          .set({ status: paid ? 'paid' : 'payment_failed' })
          .where('stripe_invoice_id', '=', inv.id)
          .execute();
        if (paid)
          await deps.payments.paid({
            invoiceId,
            paymentRef: inv.id,
            amount: inv.amount_paid,
            currency: inv.currency.toUpperCase(),
            paidAt: iso(e.created),
          });
        else
          await deps.payments.failed({
            invoiceId,
            paymentRef: inv.id,
            attempt: inv.attempt_count,
            ...(inv.next_payment_attempt ? { nextRetryAt: iso(inv.next_payment_attempt) } : {}),
            reason: 'the payment was declined',
          });
        return true;
      }
      default:
        return false;
    }
  }

  return {
    async receive(d: { raw: string; headers: Record<string, string> }) {
      const signature = d.headers['stripe-signature'];
      let event: Stripe.Event;
      try {
        if (!signature) throw new Error('Stripe-Signature is missing');
        event = deps.stripe.webhooks.constructEvent(d.raw, signature, deps.webhookSecret, deps.toleranceS);
      } catch (err) {
        webhooks?.inc({ type: 'unverified', outcome: 'rejected' });
        deps.logger.warn('stripe webhook refused: signature does not verify', { reason: err instanceof Error ? err.message : String(err) });
        const why =
          err instanceof Stripe.errors.StripeSignatureVerificationError ? err.message : 'Stripe-Signature is missing or malformed';
        throw new BadRequestError(`Stripe-Signature does not verify: ${why}`, { cause: err });
      }
      const known = (HANDLED_STRIPE_EVENTS as readonly string[]).includes(event.type);
      const type = known ? event.type : 'other';
      try {
        const outcome = await deps.db.transaction().execute(async (trx) => {
          const fresh = await trx
            .insertInto('stripe_events')
            .values({ id: event.id, type: event.type, created_at: new Date(event.created * 1000) })
            .onConflict((oc) => oc.column('id').doNothing())
            .returning('id')
            .executeTakeFirst();
          if (!fresh) return 'duplicate' as const;
          return (await apply(trx, event)) ? ('processed' as const) : ('ignored' as const);
        });
        webhooks?.inc({ type, outcome });
        if (outcome === 'processed' && event.type.startsWith('charge.'))
          payments?.inc({
            outcome: event.type === 'charge.succeeded' ? 'succeeded' : event.type === 'charge.failed' ? 'failed' : 'refunded',
          });
        return { received: true as const, event_id: event.id, type: event.type, duplicate: outcome === 'duplicate' };
      } catch (err) {
        webhooks?.inc({ type, outcome: 'failed' });
        throw err;
      }
    },
  };
}
export type StripeWebhooks = ReturnType<typeof createStripeWebhooks>;
