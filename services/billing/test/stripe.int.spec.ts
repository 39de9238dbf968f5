// Billing ↔ Stripe against the fake Stripe (driven by the real SDK): webhook verification and dedupe, revenue
// from every page of charges, and revenue-share payouts against a hand-computed table, paid exactly once.
import { aggregateSubject, publishEvent } from '@pep/events';
import { aggregateFilter } from '@pep/events';
import { readAll, testNames, waitUntil } from '@pep/testing';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTION_PROJECTION } from '../src/projections/revenue/index.ts';
import { admin, envelope, partnerPrincipal, startBillingProcess, statusOf } from './support/billing.ts';

const names = testNames('billstripe');
let billing: Awaited<ReturnType<typeof startBillingProcess>>;
const P = () => names.SUBJECT_PREFIX;
const P1 = `prt_${'0'.repeat(22)}pay1`;
const P2 = `prt_${'0'.repeat(22)}pay2`;
const P3 = `prt_${'0'.repeat(22)}pay3`;
const P4 = `prt_${'0'.repeat(22)}pay4`;
const at = (iso: string) => new Date(iso);
const stripe = () => billing.stripe as NonNullable<typeof billing.stripe>;
const fake = () => stripe().fake;

async function install(partner: string, customer: string, installedAt: string) {
  const id = `ins_${customer}`;
  await publishEvent(
    billing.bus,
    aggregateSubject(P(), 'install', id),
    envelope(
      'install.created',
      {
        install_id: id,
        listing_id: 'lst_x',
        application_id: 'app_x',
        partner_id: partner,
        customer_id: customer,
        installed_at: installedAt,
        installed_by: 'key_x',
      },
      { partnerid: partner },
    ),
  );
}

beforeAll(async () => {
  billing = await startBillingProcess(names, { STRIPE_MAX_NETWORK_RETRIES: '0', PAYOUT_MINIMUM: '2500' }, { stripe: true });
  await install(P1, 'cust_a', '2025-10-15T00:00:00Z');
  await install(P2, 'cust_c', '2026-08-01T00:00:00Z');
  await install(P2, 'cust_d', '2024-01-01T00:00:00Z');
  await publishEvent(
    billing.bus,
    aggregateSubject(P(), 'partner', P2),
    envelope(
      'partner.agreement_signed',
      {
        partner_id: P2,
        agreement_id: 'agr_p2',
        version: 1,
        supersedes: null,
        title: 'Partner agreement',
        signed_at: '2025-12-01T00:00:00Z',
        signed_by: 'usr_x',
        effective_at: '2026-01-01T00:00:00Z',
        expires_at: null,
        revenue_share: { first_year_pct: 25, renewal_pct: 12.5 },
      },
      { partnerid: P2 },
    ),
  );
  await billing.caughtUp(ATTRIBUTION_PROJECTION);
}, 120_000);
afterAll(async () => {
  await billing?.stop();
});

const countOf = async (table: 'stripe_events' | 'stripe_charges' | 'stripe_refunds') =>
  Number(
    (
      await billing.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('Stripe webhooks', () => {
  it('a webhook delivered three times changes state once', async () => {
    const cus = fake().createCustomer({ metadata: { customer_id: 'cust_w' } });
    const ch = fake().createCharge({ customer: cus.id, amount: 2000 });
    fake().refund(ch.id, 500);
    await fake().settled();
    const refunded = fake()
      .store.events.all()
      .find((e) => e.type === 'charge.refunded' && (e.data.object as { id: string }).id === ch.id);
    expect(refunded).toBeDefined();
    const before = { events: await countOf('stripe_events'), refunds: await countOf('stripe_refunds') };
    const again = [await fake().resend(refunded?.id as string), await fake().resend(refunded?.id as string)];
    expect(again.map((d) => d.status)).toEqual([200, 200]);
    const last = stripe()
      .replies.slice(-2)
      .map((r) => (r.ok ? (r.body as { duplicate: boolean }).duplicate : null));
    expect(last).toEqual([true, true]);
    expect({ events: await countOf('stripe_events'), refunds: await countOf('stripe_refunds') }).toEqual(before);
    const row = await billing.db.selectFrom('stripe_charges').selectAll().where('id', '=', ch.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ amount: 2000, amount_refunded: 500, status: 'succeeded', customer_key: 'cust_w' });
  });

  it('a forged or a stale signature is refused (400 problem) and changes nothing', async () => {
    fake().setAutoDeliver(false);
    const ch = fake().createCharge({ customer: null, amount: 700, metadata: { partner_id: P1 } });
    fake().setAutoDeliver(true);
    const e = fake().store.events.all().at(-1);
    const before = { events: await countOf('stripe_events'), charges: await countOf('stripe_charges') };
    const forged = await fake().resend(e?.id as string, { secret: 'whsec_not_the_endpoint_secret' });
    const stale = await fake().resend(e?.id as string, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect([forged.status, stale.status]).toEqual([400, 400]);
    const problems = stripe().replies.slice(-2);
    for (const p of problems) expect(p.ok ? null : p.problem).toMatchObject({ status: 400, type: expect.stringContaining('bad-request') });
    expect({ events: await countOf('stripe_events'), charges: await countOf('stripe_charges') }).toEqual(before);
    // The same event, signed as Stripe signs it now, is taken.
    expect((await fake().resend(e?.id as string)).status).toBe(200);
    expect(await billing.db.selectFrom('stripe_charges').select('partner_id').where('id', '=', ch.id).executeTakeFirst()).toEqual({
      partner_id: P1,
    });
  });
});

describe('platform subscriptions from Stripe', () => {
  it('are synced with their attribution (install or referral) and follow updates and cancellation', async () => {
    const sdk = new Stripe(fake().apiKey, fake().clientOptions);
    const a = fake().createCustomer({ metadata: { customer_id: 'cust_a' } }); // installed P1's listing
    const r = fake().createCustomer();
    const installed = fake().createSubscription({ customer: a.id, amount: 9900, start: at('2026-02-01T00:00:00Z') });
    const referred = await sdk.subscriptions.create({
      customer: r.id,
      items: [{ price_data: { currency: 'usd', product: 'prod_x', unit_amount: 1500, recurring: { interval: 'month' } } }],
      metadata: { partner_id: P2 },
    });
    await sdk.subscriptions.update(referred.id, { metadata: { plan: 'gold' } });
    await sdk.subscriptions.cancel(installed.id);
    await fake().settled();
    const rows = await billing.db
      .selectFrom('stripe_subscriptions')
      .select(['id', 'partner_id', 'customer_key', 'status', 'amount'])
      .where('id', 'in', [installed.id, referred.id])
      .orderBy('amount')
      .execute();
    expect(rows).toEqual([
      { id: referred.id, partner_id: P2, customer_key: r.id, status: 'active', amount: 1500 },
      { id: installed.id, partner_id: P1, customer_key: 'cust_a', status: 'canceled', amount: 9900 },
    ]);
  });
});

describe('GET /v1/billing/revenue', () => {
  it('pages through every charge (250, not the first 100) and excludes refunds and failed charges', async () => {
    fake().setAutoDeliver(false);
    const cus = fake().createCustomer({ metadata: { customer_id: 'cust_rev' } });
    const ids: string[] = [];
    for (let i = 0; i < 250; i++)
      ids.push(
        fake().createCharge({ customer: cus.id, amount: 100, created: at(`2025-03-10T00:00:${String(i % 60).padStart(2, '0')}Z`) }).id,
      );
    fake().refund(ids[0] as string);
    fake().refund(ids[1] as string, 40);
    const declined = fake().createCustomer();
    fake().declinePayments(declined.id);
    expect(() => fake().createCharge({ customer: declined.id, amount: 999, created: at('2025-03-11T00:00:00Z') })).toThrow(/declined/);
    fake().setAutoDeliver(true);
    const r = await billing.ok<{ charges_read: number; totals: unknown[] }>('revenue.get', admin, {
      query: { from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' },
    });
    expect(r.charges_read).toBe(251);
    expect(r.totals).toEqual([{ currency: 'USD', charges: 250, gross: 25_000, refunded: 140, net: 24_860 }]);
    // A partner sees only what is attributed to it (none of these).
    const mine = await billing.ok<{ totals: unknown[] }>('revenue.get', partnerPrincipal(P1), {
      query: { from: '2025-03-01T00:00:00Z', to: '2025-04-01T00:00:00Z' },
    });
    expect(mine.totals).toEqual([]);
    const bad = await billing.call('revenue.get', admin, { query: { from: '2025-04-01T00:00:00Z', to: '2025-03-01T00:00:00Z' } });
    expect(statusOf(bad)).toBe(422);
  });
});

type Statement = {
  id: string;
  status: string;
  subtotal: number;
  carried_in: number;
  total: number;
  payable: number;
  carried_out: number;
  lines: Record<string, unknown>[];
};

describe('revenue-share payouts', () => {
  it('match a hand-computed table (first year / renewal, minimum carry-over, refund reversal) and pay once after a lost answer', async () => {
    const a = fake().createCustomer({ metadata: { customer_id: 'cust_a' } }); // installed P1's listing 2025-10-15
    const b = fake().createCustomer(); // referred by P1 (metadata.partner_id on its charges)
    const c = fake().createCustomer({ metadata: { customer_id: 'cust_c' } }); // P2, installed 2026-08-01
    const d = fake().createCustomer({ metadata: { customer_id: 'cust_d' } }); // P2, installed 2024-01-01
    const a1 = fake().createCharge({ customer: a.id, amount: 10_000, created: at('2026-09-10T12:00:00Z') });
    fake().createCharge({ customer: b.id, amount: 333, metadata: { partner_id: P1 }, created: at('2026-09-05T12:00:00Z') });
    fake().createCharge({ customer: c.id, amount: 12_345, created: at('2026-09-15T12:00:00Z') });
    fake().createCharge({ customer: d.id, amount: 2001, created: at('2026-09-12T12:00:00Z') });
    // A partner paying its own invoice is nobody's revenue.
    fake().createCharge({
      customer: null,
      amount: 50_000,
      metadata: { invoice_id: 'inv_x', partner_id: P1 },
      created: at('2026-09-20T00:00:00Z'),
    });
    // October: a refund of half of a1 (reversed at a1's first-year 20 %), a referral payment, a renewal payment.
    fake().refund(a1.id, 5000, at('2026-10-05T00:00:00Z'));
    fake().createCharge({ customer: b.id, amount: 4999, metadata: { partner_id: P1 }, created: at('2026-10-06T00:00:00Z') });
    fake().createCharge({ customer: a.id, amount: 10_000, created: at('2026-10-20T00:00:00Z') });
    await fake().settled();

    // The answer to the first transfer is lost after Stripe made it (a crash between the transfer and its record).
    // (The SDK retries a closed connection once by itself, with the same key: that answer is lost too.)
    fake().dropAnswer('POST /v1/transfers', 2);
    const first = await billing.ok('payouts.run', admin, { body: { period: '2026-09' } });
    expect(first).toEqual({ period: '2026-09', created: 2, paid: 0, failed: 1, carried_over: 1 });
    expect(fake().transfers()).toHaveLength(1);
    const p2Sept = `po_${P2}_202609`;
    expect(await billing.ok('payouts.get', admin, { params: { id: p2Sept } })).toMatchObject({ status: 'processing' });
    const again = await billing.ok('payouts.run', admin, { body: { period: '2026-09' } });
    expect(again).toEqual({ period: '2026-09', created: 0, paid: 1, failed: 0, carried_over: 0 });
    expect(await billing.ok('payouts.run', admin, { body: { period: '2026-09' } })).toEqual({
      period: '2026-09',
      created: 0,
      paid: 0,
      failed: 0,
      carried_over: 0,
    });
    const october = await billing.ok('payouts.run', admin, { body: { period: '2026-10' } });
    expect(october).toEqual({ period: '2026-10', created: 1, paid: 1, failed: 0, carried_over: 0 });

    const line = (kind: string, amount: number, year: string, percent: number, share: number) =>
      expect.objectContaining({ kind, amount, contract_year: year, percent, share });
    const p1Sept = await billing.ok<Statement>('payouts.statement', partnerPrincipal(P1), { params: { id: `po_${P1}_202609` } });
    expect(p1Sept).toMatchObject({ status: 'carried_over', subtotal: 2067, carried_in: 0, total: 2067, payable: 0, carried_out: 2067 });
    expect(p1Sept.lines).toEqual([line('payment', 333, 'first', 20, 67), line('payment', 10_000, 'first', 20, 2000)]);
    const p1Oct = await billing.ok<Statement>('payouts.statement', partnerPrincipal(P1), { params: { id: `po_${P1}_202610` } });
    expect(p1Oct).toMatchObject({ status: 'paid', subtotal: 1000, carried_in: 2067, total: 3067, payable: 3067, carried_out: 0 });
    expect(p1Oct.lines).toEqual([
      line('refund_reversal', -5000, 'first', 20, -1000),
      line('payment', 4999, 'first', 20, 1000),
      line('payment', 10_000, 'renewal', 10, 1000),
    ]);
    const p2 = await billing.ok<Statement>('payouts.statement', partnerPrincipal(P2), { params: { id: p2Sept } });
    expect(p2).toMatchObject({ status: 'paid', subtotal: 3336, payable: 3336, carried_out: 0 });
    expect(p2.lines).toEqual([line('payment', 2001, 'renewal', 12.5, 250), line('payment', 12_345, 'first', 25, 3086)]);

    // Each payout was transferred exactly once, to the partner's Connect account, keyed by the payout id.
    const transfers = fake().transfers();
    expect(transfers.map((t) => [t.amount, t.metadata.payout_id])).toEqual([
      [3336, p2Sept],
      [3067, `po_${P1}_202610`],
    ]);
    const keys = fake()
      .requests.filter((r) => r.path === '/v1/transfers' && r.method === 'POST')
      .map((r) => r.idempotency_key);
    expect(keys).toEqual([p2Sept, p2Sept, p2Sept, `po_${P1}_202610`]);

    // A partner sees its own payouts only; another partner's is 404.
    expect(statusOf(await billing.call('payouts.get', partnerPrincipal(P2), { params: { id: `po_${P1}_202610` } }))).toBe(404);
    const list = await billing.ok<{ data: { id: string }[] }>('payouts.list', partnerPrincipal(P1));
    expect(list.data.map((p) => p.id)).toEqual([`po_${P1}_202610`, `po_${P1}_202609`]);
    expect(statusOf(await billing.call('payouts.run', partnerPrincipal(P1), { body: { period: '2026-10' } }))).toBe(403);
  });
});

describe('partner invoices are collected through Stripe', () => {
  it('a finalized invoice goes to Stripe once and is paid by its signed webhook (three deliveries, one payment); a decline records the failure', async () => {
    await billing.ok('plans.create', admin, {
      body: { code: 'stripe_basic', name: 'Basic', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 4200 },
    });
    for (const p of [P3, P4])
      await billing.ok('subscription.create', admin, { body: { partner_id: p, plan_code: 'stripe_basic', effective_date: '2026-10-01' } });
    fake().declinePaymentsWhere('platform_partner_id', P4);
    await billing.ok('invoices.run', admin, { body: { period: '2026-10' } });
    const paidId = `inv_${P3}_202610`;
    const declinedId = `inv_${P4}_202610`;
    await waitUntil(
      async () => (await billing.ok<{ status: string }>('invoices.get', admin, { params: { id: paidId } })).status === 'paid',
      {
        timeoutMs: 30_000,
        what: 'the invoice to be paid through Stripe',
      },
    );
    const atStripe = fake()
      .store.invoices.all()
      .filter((i) => i.metadata?.invoice_id === paidId);
    expect(atStripe.map((i) => [i.status, i.amount_paid, i.customer])).toEqual([['paid', 4200, expect.stringMatching(/^cus_/)]]);
    const succeeded = fake()
      .store.events.all()
      .find((e) => e.type === 'invoice.payment_succeeded' && (e.data.object as { id: string }).id === atStripe[0]?.id);
    await fake().resend(succeeded?.id as string);
    await fake().resend(succeeded?.id as string);
    const invoiceEvents = async (id: string) =>
      (await readAll(billing.bus, aggregateFilter(P(), 'billing_invoice'))).filter(
        (e) => (e.data as { invoice_id?: string }).invoice_id === id,
      );
    expect((await invoiceEvents(paidId)).filter((e) => e.type === 'billing.invoice_paid')).toHaveLength(1);
    await waitUntil(async () => (await invoiceEvents(declinedId)).some((e) => e.type === 'billing.invoice_payment_failed'), {
      timeoutMs: 30_000,
      what: 'the declined payment to be recorded',
    });
    expect((await billing.ok<{ status: string }>('invoices.get', admin, { params: { id: declinedId } })).status).toBe('open');
  });
});
