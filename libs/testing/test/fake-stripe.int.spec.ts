// The fake Stripe driven by the real SDK: what the platform relies on must behave as Stripe's API does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeStripe, startFakeStripe, stripeSignature } from '../src/index.ts';

let fake: FakeStripe;
let stripe: Stripe;
let hook: Server;
const received: { body: string; signature: string }[] = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push({ body, signature: String(req.headers['stripe-signature']) });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  fake = await startFakeStripe({ webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/` });
  stripe = new Stripe(fake.apiKey, fake.clientOptions);
});
afterAll(async () => {
  await fake.close();
  await new Promise((r) => hook.close(r));
});

describe('fake Stripe, through the stripe SDK', () => {
  it('keeps nested metadata and answers typed resources', async () => {
    const c = await stripe.customers.create({ email: 'a@example.com', metadata: { partner_id: 'prt_1', 'with space': 'x y' } });
    expect(c.id).toMatch(/^cus_/);
    const again = await stripe.customers.retrieve(c.id);
    expect(again).toMatchObject({ id: c.id, email: 'a@example.com', metadata: { partner_id: 'prt_1', 'with space': 'x y' } });
  });

  it('replays an idempotent request and refuses the key for another body', async () => {
    const a = await stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'k-1' });
    const b = await stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'k-1' });
    expect(b.id).toBe(a.id);
    expect(fake.store.customers.all().filter((c) => c.email === 'idem@example.com')).toHaveLength(1);
    const err = await stripe.customers.create({ email: 'other@example.com' }, { idempotencyKey: 'k-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((err as Stripe.errors.StripeError).statusCode).toBe(400);
  });

  it("answers Stripe's error objects with their statuses", async () => {
    const missing = await stripe.customers.retrieve('cus_nope').catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id' });
    const noAmount = await stripe.charges
      .create({ currency: 'usd' } as Stripe.ChargeCreateParams)
      .catch((e: unknown) => e as Stripe.errors.StripeError);
    expect(noAmount).toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'amount' });
    const badKey = await new Stripe('sk_test_wrong', fake.clientOptions).customers.list().catch((e: unknown) => e);
    expect(badKey).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    const cus = fake.createCustomer();
    fake.declinePayments(cus.id);
    const declined = await stripe.charges.create({ amount: 500, currency: 'usd', customer: cus.id }).catch((e: unknown) => e);
    expect(declined).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(declined).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
  });

  it('pages lists with limit, starting_after and has_more (auto-pagination reads all 250)', async () => {
    const cus = fake.createCustomer();
    for (let i = 0; i < 250; i++) fake.createCharge({ customer: cus.id, amount: 100 + i });
    const first = await stripe.charges.list({ customer: cus.id, limit: 100 });
    expect(first.data).toHaveLength(100);
    expect(first.has_more).toBe(true);
    expect(first.data[0]?.amount).toBe(349); // newest first
    const second = await stripe.charges.list({ customer: cus.id, limit: 100, starting_after: first.data[99]?.id as string });
    expect(second.data[0]?.amount).toBe(249);
    const all = await stripe.charges.list({ customer: cus.id, limit: 100 }).autoPagingToArray({ limit: 10_000 });
    expect(all).toHaveLength(250);
    expect(new Set(all.map((c) => c.id)).size).toBe(250);
    const tooMany = await stripe.charges.list({ limit: 101 }).catch((e: unknown) => e);
    expect(tooMany).toMatchObject({ statusCode: 400, param: 'limit' });
  });

  it('invoices, pays, refunds and transfers, sending signed events the SDK verifies', async () => {
    const cus = await stripe.customers.create({ metadata: { partner_id: 'prt_2' } });
    const inv = await stripe.invoices.create({ customer: cus.id, currency: 'eur', metadata: { invoice_id: 'inv_x' } });
    await stripe.invoiceItems.create({ customer: cus.id, invoice: inv.id, amount: 4200, currency: 'eur' });
    await stripe.invoices.finalizeInvoice(inv.id);
    const paid = await stripe.invoices.pay(inv.id);
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 4200 });
    const charge = fake.store.charges.all().find((c) => c.metadata.invoice === inv.id) as Stripe.Charge;
    await stripe.refunds.create({ charge: charge.id, amount: 200 });
    expect((await stripe.charges.retrieve(charge.id)).amount_refunded).toBe(200);
    const acct = fake.createAccount();
    const t1 = await stripe.transfers.create({ amount: 100, currency: 'eur', destination: acct.id }, { idempotencyKey: 'po_1' });
    const t2 = await stripe.transfers.create({ amount: 100, currency: 'eur', destination: acct.id }, { idempotencyKey: 'po_1' });
    expect(t2.id).toBe(t1.id);
    expect(fake.transfers()).toHaveLength(1);
    await fake.settled();
    const types = received.map((r) => stripe.webhooks.constructEvent(r.body, r.signature, fake.webhookSecret, 300).type);
    expect(types).toEqual(
      expect.arrayContaining(['invoice.finalized', 'charge.succeeded', 'invoice.payment_succeeded', 'charge.refunded', 'transfer.created']),
    );
  });

  it('signs as Stripe does: a forged or stale signature does not verify', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'charge.succeeded' });
    const header = stripeSignature(payload, fake.webhookSecret);
    expect(stripe.webhooks.constructEvent(payload, header, fake.webhookSecret, 300).id).toBe('evt_1');
    expect(() => stripe.webhooks.constructEvent(payload, stripeSignature(payload, 'whsec_other'), fake.webhookSecret, 300)).toThrow(
      Stripe.errors.StripeSignatureVerificationError,
    );
    const stale = stripeSignature(payload, fake.webhookSecret, Math.floor(Date.now() / 1000) - 301);
    expect(() => stripe.webhooks.constructEvent(payload, stale, fake.webhookSecret, 300)).toThrow(/tolerance/);
  });
});
