import type { RpcRequest } from '@pep/contracts';
import type { Logger } from '@pep/runtime';
import { handler, type RpcHandler } from '@pep/service';
import type { InvoiceJobDeps } from '../app/invoice-job.ts';
import type { PayoutDeps } from '../app/payout-run.ts';
import type { StripeWebhooks } from '../app/stripe-webhooks.ts';
import { type DocumentHandlerDeps, documentHandlers } from './documents.ts';
import { invoiceHandlers } from './invoices.ts';
import { payoutHandlers } from './payouts.ts';
import { revenueHandlers } from './revenue.ts';
import { stripeHandlers } from './stripe.ts';
import { planHandlers } from './plans.ts';
import { type UsageHandlerDeps, usageHandlers } from './usage.ts';

export interface HandlerDeps extends UsageHandlerDeps {
  logger: Logger;
  invoices: InvoiceJobDeps;
  /** Stripe: webhook ingress, revenue and payouts (the payout deps carry the SDK client). */
  stripe: { webhooks: StripeWebhooks; payouts: PayoutDeps };
  documents: Omit<DocumentHandlerDeps, 'commands' | 'invoices' | 'now'>;
}

/** Every RPC pattern of the billing service: parse, call one use case or decider, map (no rules here). */
export function billingHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const all: Record<string, (req: RpcRequest) => ReturnType<RpcHandler>> = {
    ...usageHandlers(deps),
    ...planHandlers(deps),
    ...invoiceHandlers({ ...deps.invoices, now: deps.now }),
    ...stripeHandlers(deps.stripe),
    ...revenueHandlers({ db: deps.db, stripe: deps.stripe.payouts.stripe }),
    ...payoutHandlers({ ...deps.stripe.payouts, now: deps.now }),
    ...documentHandlers({ ...deps.documents, commands: deps.commands, invoices: deps.invoices, now: deps.now }),
  };
  return Object.fromEntries(Object.entries(all).map(([pattern, fn]) => [pattern, handler(deps.logger, fn)]));
}
