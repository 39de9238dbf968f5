import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RpcReply } from '@pep/contracts';
import { rpcCall } from '@pep/service';
import { anonymous, startFakeStripe, type TestNames } from '@pep/testing';

/**
 * A fake Stripe for one test world, whose webhooks reach billing's `stripe.webhook` pattern the way the gateway
 * forwards a raw public route (the bytes in base64 and the lower-cased headers). `env` points billing at it.
 */
export async function startStripeFor(nc: NatsConnection, names: TestNames) {
  const replies: RpcReply[] = [];
  const shim = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const body = { raw_base64: Buffer.concat(chunks).toString('base64'), content_type: headers['content-type'] ?? null };
      rpcCall(nc, `${names.RPC_PREFIX}.billing.stripe.webhook`, { principal: anonymous, params: {}, query: {}, body, headers }, 15_000)
        .then((r) => {
          replies.push(r);
          res.writeHead(r.ok ? r.status : r.problem.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(r.ok ? r.body : r.problem));
        })
        .catch((err: unknown) => {
          res.writeHead(502);
          res.end(String(err));
        });
    });
  });
  await new Promise<void>((r) => shim.listen(0, '127.0.0.1', r));
  const fake = await startFakeStripe({ webhookUrl: `http://127.0.0.1:${(shim.address() as AddressInfo).port}/v1/billing/webhooks/stripe` });
  return {
    fake,
    /** Billing's answers to the webhooks delivered so far. */
    replies,
    env: {
      STRIPE_API_KEY: fake.apiKey,
      STRIPE_WEBHOOK_SECRET: fake.webhookSecret,
      STRIPE_API_BASE: fake.url,
    },
    async close() {
      await fake.close();
      shim.closeAllConnections();
      await new Promise((r) => shim.close(r));
    },
  };
}
