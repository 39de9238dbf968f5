import { z } from 'zod';

/** Stripe settings of billing (checked at start: a missing key stops the service, naming it). */
export const stripeConfigShape = {
  STRIPE_API_KEY: z.string({ message: 'STRIPE_API_KEY is required' }).min(8, 'STRIPE_API_KEY is required (a Stripe secret key)'),
  STRIPE_WEBHOOK_SECRET: z
    .string({ message: 'STRIPE_WEBHOOK_SECRET is required' })
    .min(8, 'STRIPE_WEBHOOK_SECRET is required (the webhook endpoint signing secret, whsec_…)'),
  /** Where the SDK sends requests: Stripe itself by default; the fake Stripe (e.g. http://127.0.0.1:12111) here. */
  STRIPE_API_BASE: z.string().url().default('https://api.stripe.com'),
  /** Retries of a failed request by the SDK (same idempotency key). */
  STRIPE_MAX_NETWORK_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  /** Signatures older than this are refused (Stripe's default tolerance). */
  STRIPE_WEBHOOK_TOLERANCE_S: z.coerce.number().int().min(1).max(3600).default(300),
  /** Payouts smaller than this (minor units) are carried over to the next statement. */
  PAYOUT_MINIMUM: z.coerce.number().int().min(0).default(5_000),
  /** The currency payouts are made in; charges in other currencies are not shared yet. */
  PAYOUT_CURRENCY: z
    .string()
    .regex(/^[A-Za-z]{3}$/)
    .transform((c) => c.toLowerCase())
    .default('usd'),
};
export type StripeSettings = {
  STRIPE_API_KEY: string;
  STRIPE_WEBHOOK_SECRET: string;
  STRIPE_API_BASE: string;
  STRIPE_MAX_NETWORK_RETRIES: number;
  STRIPE_WEBHOOK_TOLERANCE_S: number;
  PAYOUT_MINIMUM: number;
  PAYOUT_CURRENCY: string;
};
