import type { RpcRequest } from '@pep/contracts';
import { parseOrThrow } from '@pep/runtime';
import { ok } from '@pep/service';
import { z } from 'zod';
import type { StripeWebhooks } from '../app/stripe-webhooks.ts';

const RawBody = z.object({ raw_base64: z.string(), content_type: z.string().nullish() });

/** Stripe webhook ingress (a raw route: the gateway forwards the bytes and the headers unparsed). */
export function stripeHandlers(deps: { webhooks: StripeWebhooks }) {
  return {
    'stripe.webhook': async (req: RpcRequest) => {
      const body = parseOrThrow(RawBody, req.body);
      const raw = Buffer.from(body.raw_base64, 'base64').toString('utf8');
      return ok(await deps.webhooks.receive({ raw, headers: req.headers ?? {} }));
    },
  };
}
