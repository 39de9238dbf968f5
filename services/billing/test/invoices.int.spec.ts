import { aggregateFilter, aggregateSubject, createCommandBus, externalSubject, publishEvent, publishMany } from '@pep/events';
import { createLogger, IllegalTransitionError } from '@pep/runtime';
import type { ServiceProcess } from '@pep/testing';
import { testNames, waitUntil } from '@pep/testing';
import { recordInvoicePayment, recordInvoicePaymentFailed } from '../src/app/invoice-payments.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays } from '../src/domain/pricing/period.ts';
import { SUBSCRIPTIONS_PROJECTION } from '../src/projections/subscriptions/index.ts';
import { USAGE_PROJECTION } from '../src/projections/usage/index.ts';
import { admin, envelope, partnerPrincipal, startBillingProcess, statusOf } from './support/billing.ts';

const names = testNames('billinv');
let billing: Awaited<ReturnType<typeof startBillingProcess>>;
let second: ServiceProcess;
const P = () => names.SUBJECT_PREFIX;

const PLANS = [
  { code: 'basic', name: 'Basic', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 3000 },
  { code: 'pro', name: 'Pro', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 9000 },
  {
    code: 'growth',
    name: 'Growth',
    currency: 'USD',
    model: 'hybrid',
    interval: 'month',
    amount: 4900,
    charges: [
      {
        meter: 'api_requests',
        tiering: 'graduated',
        included_units: 1000,
        tiers: [
          { up_to: 10_000, unit_amount_decimal: '0.5' },
          { up_to: null, unit_amount_decimal: '0.25' },
        ],
      },
    ],
  },
  {
    code: 'metered',
    name: 'Metered',
    currency: 'USD',
    model: 'usage_based',
    charges: [{ meter: 'events_ingested', tiering: 'package', package_size: 1000, package_amount: 500 }],
  },
];

type Invoice = {
  id: string;
  partner_id: string;
  number: string;
  status: string;
  total: number;
  due_date: string;
  created_at: string;
  lines: { kind: string; amount: number }[];
};

beforeAll(async () => {
  billing = await startBillingProcess(names);
  second = await billing.replica();
  for (const p of PLANS) expect(statusOf(await billing.call('plans.create', admin, { body: p }))).toBe(201);
  const sub = (partner_id: string, plan_code: string, effective_date: string) =>
    billing.ok('subscription.create', admin, { body: { partner_id, plan_code, effective_date } });
  await sub('prt_1nv1x000000000000000000000', 'basic', '2026-10-01');
  await sub('prt_1nv2x000000000000000000000', 'growth', '2026-10-01');
  await sub('prt_1nv3x000000000000000000000', 'metered', '2026-09-15');
  await sub('prt_1nv4x000000000000000000000', 'basic', '2026-10-01');
  await sub('prt_1nv5x000000000000000000000', 'basic', '2026-11-05'); // starts after October: no October invoice
  await billing.ok('subscription.change', admin, {
    body: { partner_id: 'prt_1nv4x000000000000000000000', plan_code: 'pro', effective_date: '2026-10-16' },
  });

  // prt_1nv2x000000000000000000000: 12,001 API requests in October, and some outside it.
  const rollup = (minute: string, requests: number) =>
    publishEvent(
      billing.bus,
      aggregateSubject(P(), 'api_usage', 'prt_1nv2x000000000000000000000'),
      envelope(
        'api_usage.rolled_up',
        { partner_id: 'prt_1nv2x000000000000000000000', minute, reporter: 'gw1', requests },
        { partnerid: 'prt_1nv2x000000000000000000000', time: minute },
      ),
    );
  await rollup('2026-10-01T00:00:00Z', 6000);
  await rollup('2026-10-20T12:30:00Z', 6000);
  await rollup('2026-10-31T23:59:00Z', 1);
  await rollup('2026-09-30T23:59:00Z', 100);
  await rollup('2026-11-01T00:00:00Z', 500);
  // prt_1nv3x000000000000000000000: 1,500 business events in October (two packages), ten in September.
  const events = Array.from({ length: 1510 }, (_, i) => ({
    subject: externalSubject(P(), 'prt_1nv3x000000000000000000000', 'lead.created'),
    event: envelope(
      'lead.created',
      { n: i },
      {
        partnerid: 'prt_1nv3x000000000000000000000',
        time: i < 1500 ? new Date(Date.parse('2026-10-01T00:00:00Z') + i * 1_700_000).toISOString() : '2026-09-20T10:00:00Z',
      },
    ),
  }));
  for (let i = 0; i < events.length; i += 500) await publishMany(billing.bus, events.slice(i, i + 500));
  await billing.caughtUp(USAGE_PROJECTION);
  await billing.caughtUp(SUBSCRIPTIONS_PROJECTION, aggregateFilter(P(), 'billing_subscription'));
}, 300_000);
afterAll(async () => {
  await second?.stop();
  await billing?.stop();
});

describe('monthly invoices', () => {
  it('run six times at once over two replicas, make exactly one invoice per partner and period, numbered without gaps', async () => {
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        billing.ok<{ created: number; finalized: number }>('invoices.run', admin, { body: { period: '2026-10' } }),
      ),
    );
    expect(runs.reduce((s, r) => s + r.created, 0)).toBe(4);
    expect(runs.reduce((s, r) => s + r.finalized, 0)).toBe(4);
    // and once more afterwards: nothing new
    expect(await billing.ok('invoices.run', admin, { body: { period: '2026-10' } })).toMatchObject({ created: 0, finalized: 0 });

    const list = await billing.ok<{ data: Invoice[] }>('invoices.list', admin, { query: { limit: 100 } });
    expect(list.data.map((i) => i.partner_id).sort()).toEqual([
      'prt_1nv1x000000000000000000000',
      'prt_1nv2x000000000000000000000',
      'prt_1nv3x000000000000000000000',
      'prt_1nv4x000000000000000000000',
    ]);
    expect(list.data.map((i) => i.number).sort()).toEqual(['PEP-000001', 'PEP-000002', 'PEP-000003', 'PEP-000004']);
    for (const inv of list.data) {
      expect(inv.status).toBe('open');
      expect(inv.id).toBe(`inv_${inv.partner_id}_202610`);
      expect(inv.total).toBe(inv.lines.reduce((s, l) => s + l.amount, 0));
      expect(inv.due_date).toBe(addDays(inv.created_at.slice(0, 10), 30));
    }
    const byPartner = Object.fromEntries(list.data.map((i) => [i.partner_id, i]));
    expect(byPartner.prt_1nv1x000000000000000000000?.lines.map((l) => [l.kind, l.amount])).toEqual([['flat_fee', 3000]]);
    // 4900 flat + 11,001 billable requests: 10,000 × 0.5 = 5000, 1,001 × 0.25 = 250.25 → 250
    expect(byPartner.prt_1nv2x000000000000000000000?.lines.map((l) => [l.kind, l.amount])).toEqual([
      ['flat_fee', 4900],
      ['usage', 5250],
    ]);
    // 1,500 events: two packages of 1,000 at 5.00
    expect(byPartner.prt_1nv3x000000000000000000000?.lines.map((l) => [l.kind, l.amount])).toEqual([['usage', 1000]]);
    // Basic for October, then Pro from Oct 16: 16 of 31 days → -1548 (3000 × 16/31 = 1548.39) and +4645 (9000 × 16/31 = 4645.16)
    expect(byPartner.prt_1nv4x000000000000000000000?.lines.map((l) => [l.kind, l.amount])).toEqual([
      ['flat_fee', 3000],
      ['proration_credit', -1548],
      ['proration_charge', 4645],
    ]);
    expect(byPartner.prt_1nv4x000000000000000000000?.total).toBe(6097);
  });

  it('voids and marks uncollectible by the status rules, and never renumbers', async () => {
    const voided = await billing.ok<Invoice>('invoices.void', admin, {
      params: { id: 'inv_prt_1nv1x000000000000000000000_202610' },
      body: { reason: 'duplicate' },
    });
    expect([voided.status, voided.number]).toEqual(['void', expect.stringMatching(/^PEP-00000[1-4]$/)]);
    expect(
      (await billing.ok<Invoice>('invoices.void', admin, { params: { id: 'inv_prt_1nv1x000000000000000000000_202610' } })).status,
    ).toBe('void');
    expect(
      statusOf(await billing.call('invoices.mark-uncollectible', admin, { params: { id: 'inv_prt_1nv1x000000000000000000000_202610' } })),
    ).toBe(409);
    const bad = await billing.ok<Invoice>('invoices.mark-uncollectible', admin, {
      params: { id: 'inv_prt_1nv2x000000000000000000000_202610' },
    });
    expect(bad.status).toBe('uncollectible');
    expect(
      (await billing.ok<Invoice>('invoices.void', admin, { params: { id: 'inv_prt_1nv2x000000000000000000000_202610' } })).status,
    ).toBe('void');
    expect(statusOf(await billing.call('invoices.void', admin, { params: { id: 'inv_nope' } }))).toBe(404);
    expect(
      statusOf(
        await billing.call('invoices.void', partnerPrincipal('prt_1nv3x000000000000000000000'), {
          params: { id: 'inv_prt_1nv3x000000000000000000000_202610' },
        }),
      ),
    ).toBe(403);
    // A re-run leaves statuses and numbers alone.
    await billing.ok('invoices.run', admin, { body: { period: '2026-10' } });
    const after = await billing.ok<{ data: Invoice[] }>('invoices.list', admin, { query: { limit: 100 } });
    expect(after.data.map((i) => [i.partner_id, i.status]).sort()).toEqual([
      ['prt_1nv1x000000000000000000000', 'void'],
      ['prt_1nv2x000000000000000000000', 'void'],
      ['prt_1nv3x000000000000000000000', 'open'],
      ['prt_1nv4x000000000000000000000', 'open'],
    ]);
    expect(after.data.map((i) => i.number).sort()).toEqual(['PEP-000001', 'PEP-000002', 'PEP-000003', 'PEP-000004']);
  });

  it('shows a partner only its own invoices; refuses a month that has not ended and non-admin runs', async () => {
    const own = await billing.ok<{ data: Invoice[] }>('invoices.list', partnerPrincipal('prt_1nv1x000000000000000000000'));
    expect(own.data.map((i) => i.id)).toEqual(['inv_prt_1nv1x000000000000000000000_202610']);
    expect(
      statusOf(
        await billing.call('invoices.get', partnerPrincipal('prt_1nv1x000000000000000000000'), {
          params: { id: 'inv_prt_1nv2x000000000000000000000_202610' },
        }),
      ),
    ).toBe(404);
    expect(
      statusOf(
        await billing.call('invoices.get', partnerPrincipal('prt_1nv2x000000000000000000000'), {
          params: { id: 'inv_prt_1nv2x000000000000000000000_202610' },
        }),
      ),
    ).toBe(200);
    expect(
      statusOf(
        await billing.call('invoices.list', partnerPrincipal('prt_1nv1x000000000000000000000'), {
          query: { partner_id: 'prt_1nv2x000000000000000000000' },
        }),
      ),
    ).toBe(404);
    const future = await billing.call('invoices.run', admin, { body: { period: '2999-01' } });
    expect(statusOf(future)).toBe(422);
    expect(JSON.stringify(future)).toContain('period');
    expect(
      statusOf(await billing.call('invoices.run', partnerPrincipal('prt_1nv1x000000000000000000000'), { body: { period: '2026-10' } })),
    ).toBe(403);
  });

  it('records payments through the command bus: once per payment_ref, never on a void invoice; the read model shows paid', async () => {
    const commands = createCommandBus({
      bus: billing.bus,
      logger: createLogger('test', 'warn'),
      projections: new Map(),
      source: 'urn:pep:test',
    });
    const deps = { db: billing.db, commands, settings: { INVOICE_ISSUER: 'platform' } };
    const id = 'inv_prt_1nv3x000000000000000000000_202610';
    const failed = await recordInvoicePaymentFailed(deps, {
      invoiceId: id,
      paymentRef: 'in_test_1',
      attempt: 1,
      nextRetryAt: '2026-11-05T00:00:00Z',
      reason: 'card_declined',
    });
    expect(failed.recorded).toBe(true);
    const payment = { invoiceId: id, paymentRef: 'in_test_1', amount: 1000, currency: 'USD', paidAt: '2026-11-04T09:00:00Z' };
    expect((await recordInvoicePayment(deps, payment)).recorded).toBe(true);
    expect((await recordInvoicePayment(deps, payment)).recorded).toBe(false);
    await waitUntil(
      async () => (await billing.ok<Invoice & { amount_paid: number }>('invoices.get', admin, { params: { id } })).status === 'paid',
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: 'the invoice to show paid',
      },
    );
    const inv = await billing.ok<Invoice & { amount_paid: number; payment_ref: string; failed_attempts: number }>('invoices.get', admin, {
      params: { id },
    });
    expect([inv.status, inv.amount_paid, inv.payment_ref, inv.failed_attempts]).toEqual(['paid', 1000, 'in_test_1', 1]);
    await expect(
      recordInvoicePayment(deps, { ...payment, invoiceId: 'inv_prt_1nv1x000000000000000000000_202610', paymentRef: 'in_void' }),
    ).rejects.toBeInstanceOf(IllegalTransitionError);
    await expect(recordInvoicePayment(deps, { ...payment, paymentRef: 'ch_second' })).rejects.toThrow(/already paid/);
  });
});
