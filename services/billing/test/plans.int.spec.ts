import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, startBillingProcess, statusOf } from './support/billing.ts';

const names = testNames('billplan');
const A = 'prt_p7anax00000000000000000000';
const B = 'prt_p7anbx00000000000000000000';
let billing: Awaited<ReturnType<typeof startBillingProcess>>;

const basic = { code: 'basic', name: 'Basic', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 3000 };
const pro = { code: 'pro', name: 'Pro', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 9000 };
const growth = {
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
};

type Sub = {
  current: { plan_code: string; plan_version: number; since: string; anchor_date: string };
  scheduled_change: { plan_code: string; effective_date: string } | null;
  changes: {
    from: { plan_code: string };
    to: { plan_code: string };
    timing: string;
    effective_date: string;
    proration: { kind: string; amount: number }[];
  }[];
};

beforeAll(async () => {
  billing = await startBillingProcess(names);
});
afterAll(async () => {
  await billing?.stop();
});

describe('versioned plans', () => {
  it('creates plans, publishes immutable versions and refuses bad ones naming the field', async () => {
    for (const p of [basic, pro, growth]) expect(statusOf(await billing.call('plans.create', admin, { body: p }))).toBe(201);
    expect(statusOf(await billing.call('plans.create', admin, { body: basic }))).toBe(409);
    expect(statusOf(await billing.call('plans.create', partnerPrincipal(A), { body: { ...basic, code: 'mine' } }))).toBe(403);
    const bad = await billing.call('plans.create', admin, {
      body: { ...growth, code: 'bad', charges: [{ ...growth.charges[0], tiers: [{ up_to: 10 }, { up_to: 5 }] }] },
    });
    expect(statusOf(bad)).toBe(422);
    expect(JSON.stringify(bad)).toContain('charges.0.tiers.1.up_to');

    const v2 = await billing.ok<{ version: number; definition: { amount: number } }>('plans.publish-version', admin, {
      params: { code: 'basic' },
      body: { ...basic, amount: 3500 },
    });
    expect([v2.version, v2.definition.amount]).toEqual([2, 3500]);
    const otherCurrency = await billing.call('plans.publish-version', admin, {
      params: { code: 'basic' },
      body: { ...basic, currency: 'EUR' },
    });
    expect(statusOf(otherCurrency)).toBe(422);
    const v1 = await billing.ok<{ version: number; definition: { amount: number } }>('plans.get', partnerPrincipal(A), {
      params: { code: 'basic' },
      query: { version: 1 },
    });
    expect([v1.version, v1.definition.amount]).toEqual([1, 3000]);
    const list = await billing.ok<{ data: { code: string; version: number }[] }>('plans.list', partnerPrincipal(A));
    expect(list.data.map((p) => [p.code, p.version])).toEqual([
      ['basic', 2],
      ['growth', 1],
      ['pro', 1],
    ]);
    expect(statusOf(await billing.call('plans.get', partnerPrincipal(A), { params: { code: 'nope' } }))).toBe(404);
  });

  it('quotes a period: line items with tier breakdown that sum to the total', async () => {
    const q = await billing.ok<{ total: number; lines: { kind: string; amount: number; tiers?: { amount: number }[] }[] }>(
      'plans.quote',
      partnerPrincipal(A),
      { params: { code: 'growth' }, body: { period: { start: '2030-11-01', end: '2030-12-01' }, usage: { api_requests: 12_001 } } },
    );
    // 4900 flat; 11,001 billable: 10,000 × 0.5 = 5000, 1,001 × 0.25 = 250.25 → 250
    expect(q.lines.map((l) => [l.kind, l.amount])).toEqual([
      ['flat_fee', 4900],
      ['usage', 5250],
    ]);
    expect(q.lines[1]?.tiers?.map((t) => t.amount)).toEqual([5000, 250]);
    expect(q.total).toBe(10_150);
  });
});

describe('subscriptions', () => {
  it('prorates an upgrade by the day, defers a downgrade to the period end, and applies it before a later change', async () => {
    const created = await billing.ok<Sub>('subscription.create', admin, {
      body: { partner_id: A, plan_code: 'basic', plan_version: 1, effective_date: '2030-11-01' },
    });
    expect(created.current).toMatchObject({ plan_code: 'basic', plan_version: 1, since: '2030-11-01', anchor_date: '2030-11-01' });
    expect(
      statusOf(
        await billing.call('subscription.create', admin, { body: { partner_id: A, plan_code: 'pro', effective_date: '2030-11-01' } }),
      ),
    ).toBe(409);

    // Upgrade on Nov 16: 15 of 30 days left → credit 15.00 of Basic, charge 45.00 of Pro.
    const up = await billing.ok<Sub>('subscription.change', partnerPrincipal(A), {
      body: { plan_code: 'pro', effective_date: '2030-11-16' },
    });
    expect(up.current.plan_code).toBe('pro');
    expect(up.changes.at(-1)?.proration.map((l) => [l.kind, l.amount])).toEqual([
      ['proration_credit', -1500],
      ['proration_charge', 4500],
    ]);

    // Downgrade on Nov 20: waits for Dec 1.
    const down = await billing.ok<Sub>('subscription.change', admin, {
      body: { partner_id: A, plan_code: 'basic', plan_version: 1, effective_date: '2030-11-20' },
    });
    expect(down.current.plan_code).toBe('pro');
    expect(down.scheduled_change).toMatchObject({ plan_code: 'basic', effective_date: '2030-12-01' });

    // On Dec 5, back to Pro at once: the Dec 1 downgrade is recorded first, then 27 of 31 days are prorated.
    const again = await billing.ok<Sub>('subscription.change', partnerPrincipal(A), {
      body: { plan_code: 'pro', effective_date: '2030-12-05', timing: 'immediate' },
    });
    expect(again.changes.map((c) => [c.from.plan_code, c.to.plan_code, c.timing, c.effective_date])).toEqual([
      ['basic', 'pro', 'immediate', '2030-11-16'],
      ['pro', 'basic', 'period_end', '2030-12-01'],
      ['basic', 'pro', 'immediate', '2030-12-05'],
    ]);
    // 3000 × 27/31 = 2612.90 → 2613; 9000 × 27/31 = 7838.71 → 7839
    expect(again.changes.at(-1)?.proration.map((l) => l.amount)).toEqual([-2613, 7839]);
    expect(again.scheduled_change).toBeNull();

    const early = await billing.call('subscription.change', admin, {
      body: { partner_id: A, plan_code: 'basic', effective_date: '2030-10-01' },
    });
    expect(statusOf(early)).toBe(422);
    expect(JSON.stringify(early)).toContain('effective_date');
  });

  it('keeps partners apart: another partner’s subscription is 404', async () => {
    const theirs = await billing.call('subscriptions.list', partnerPrincipal(B), { query: { partner_id: A } });
    expect(statusOf(theirs)).toBe(404);
    expect(await billing.ok('subscriptions.list', partnerPrincipal(B))).toEqual({ data: [], has_more: false });
    expect(
      statusOf(
        await billing.call('subscription.change', partnerPrincipal(B), {
          body: { partner_id: A, plan_code: 'basic', effective_date: '2030-12-10' },
        }),
      ),
    ).toBe(404);
    const mine = await billing.ok<{ data: Sub[] }>('subscriptions.list', partnerPrincipal(A));
    expect(mine.data.map((s) => s.current.plan_code)).toEqual(['pro']);
    const all = await billing.ok<{ data: Sub[] }>('subscriptions.list', admin);
    expect(all.data).toHaveLength(1);
    expect(
      statusOf(
        await billing.call('subscription.create', admin, { body: { partner_id: B, plan_code: 'nope', effective_date: '2030-11-01' } }),
      ),
    ).toBe(422);
  });
});
