import { AppError, type Metrics } from '@pep/runtime';
import Stripe from 'stripe';
import type { StripeSettings } from './stripe-config.ts';

/** The stripe SDK pointed at STRIPE_API_BASE (Stripe, or the fake Stripe), counting every answer by outcome. */
export function createStripeClient(s: StripeSettings, metrics?: Metrics): Stripe {
  const base = new URL(s.STRIPE_API_BASE);
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  const stripe = new Stripe(s.STRIPE_API_KEY, {
    host: base.hostname,
    port: base.port || (protocol === 'http' ? 80 : 443),
    protocol,
    maxNetworkRetries: s.STRIPE_MAX_NETWORK_RETRIES,
    timeout: 20_000,
    appInfo: { name: 'pep-billing' },
  });
  const requests = metrics?.counter('stripe_api_requests_total', 'Requests to the Stripe API by outcome', ['outcome']);
  for (const outcome of ['succeeded', 'client_error', 'server_error']) requests?.inc({ outcome }, 0);
  stripe.on('response', (r: { status: number }) => {
    const outcome = r.status < 400 ? 'succeeded' : r.status < 500 ? 'client_error' : 'server_error';
    requests?.inc({ outcome });
  });
  return stripe;
}

/** A Stripe error the API answered (4xx with an error object), as opposed to a lost connection or a 5xx. */
export function stripeRefusal(err: unknown): { message: string; code: string | null; status: number } | undefined {
  if (!(err instanceof Stripe.errors.StripeError)) return undefined;
  const status = err.statusCode ?? 0;
  if (status < 400 || status >= 500) return undefined;
  return { message: err.message, code: err.code ?? null, status };
}

/** Stripe could not answer (or refused what it should not have): 502, the request may be retried. */
export class StripeUnavailableError extends AppError {
  readonly status = 502;
  readonly problemType = 'stripe-unavailable';
  readonly title = 'Stripe did not answer';
}
