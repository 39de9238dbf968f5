// The fake Stripe as a process for the dev stack (npm start runs it): the billing service's stripe SDK talks to it.
//   STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET: the keys it accepts and signs with (required: the same as billing's)
//   FAKE_STRIPE_PORT (default 12111), FAKE_STRIPE_WEBHOOK_URL (where events go, e.g. the gateway's
//   /v1/billing/webhooks/stripe)
import { startFakeStripe } from '@pep/testing';

const apiKey = process.env.STRIPE_API_KEY;
const webhookSecret = process.env.STRIPE_WEBHOOK_SECRET;
if (!apiKey || !webhookSecret) {
  process.stderr.write(`fake stripe: ${!apiKey ? 'STRIPE_API_KEY' : 'STRIPE_WEBHOOK_SECRET'} is required\n`);
  process.exit(1);
}
const fake = await startFakeStripe({
  apiKey,
  webhookSecret,
  port: Number(process.env.FAKE_STRIPE_PORT ?? 12111),
  ...(process.env.FAKE_STRIPE_WEBHOOK_URL ? { webhookUrl: process.env.FAKE_STRIPE_WEBHOOK_URL } : {}),
});
process.stdout.write(`fake stripe listening on ${fake.url} (webhooks → ${process.env.FAKE_STRIPE_WEBHOOK_URL ?? 'none'})\n`);
const stop = () => {
  fake.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`fake stripe: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
