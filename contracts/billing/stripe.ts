import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineRoutes } from '../http/routes.ts';

/** What billing answers Stripe for a webhook it accepted (a duplicate event id is accepted and changes nothing). */
export const StripeWebhookAcceptedSchema = z
  .object({
    received: z.literal(true),
    event_id: safeText(),
    type: safeText(),
    duplicate: z.boolean().describe('True when this Stripe event id was handled before (nothing changed again)'),
  })
  .meta({ id: 'StripeWebhookAccepted' });

export const billingStripeRoutes = defineRoutes([
  {
    operationId: 'receiveStripeWebhook',
    method: 'POST',
    path: '/v1/billing/webhooks/stripe',
    summary: 'Stripe webhook ingress (Stripe-Signature verified by billing over the raw body, 300 s tolerance; deduped by event id)',
    tag: 'Billing',
    service: 'billing',
    pattern: 'stripe.webhook',
    scope: 'stripe:webhook',
    public: true,
    raw: true,
    success: { status: 200, schema: StripeWebhookAcceptedSchema },
    errors: [400],
    timeoutMs: 15_000,
  },
]);
