// A fake Stripe for tests and the dev stack: the real `stripe` SDK talks to it (host/port/protocol options).
export { type FakeStripe, type FakeStripeOptions, startFakeStripe, stripeSignature, type WebhookDelivery } from './server.ts';
