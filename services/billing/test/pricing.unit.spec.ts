import { type PlanDefinition, PlanDefinitionSchema, type UsageCharge, UsageChargeSchema } from '@pep/contracts';
import { describe, expect, it } from 'vitest';
import { parseDecimal, roundMinor, ratio } from '../src/domain/pricing/money.ts';
import { addMonths, daysBetween, periodContaining } from '../src/domain/pricing/period.ts';
import { prorate, prorationLines, quotePeriod } from '../src/domain/pricing/quote.ts';
import { priceUsageCharge } from '../src/domain/pricing/usage-charge.ts';
import { rng } from './support/rng.ts';

const charge = (c: unknown) => UsageChargeSchema.parse(c) as UsageCharge;
const plan = (p: unknown) => PlanDefinitionSchema.parse(p) as PlanDefinition;
const TIERS = [
  { up_to: 1000, unit_amount_decimal: '0' },
  { up_to: 10_000, unit_amount_decimal: '0.5' },
  { up_to: null, unit_amount_decimal: '0.25', flat_amount: 100 },
];
const NOV: { start: string; end: string } = { start: '2026-11-01', end: '2026-12-01' };

describe('rounding', () => {
  it.each([
    [ratio(1, 2), 1],
    [ratio(3, 2), 2],
    [ratio(-1, 2), -1],
    [ratio(49_975, 1000), 50],
    [ratio(49_974, 1000), 50],
    [ratio(49_499, 1000), 49],
    [parseDecimal('0.015'), 0],
    [ratio(10, 31), 0],
  ])('%o rounds half away from zero to %i', (r, want) => {
    expect(roundMinor(r)).toBe(want);
  });
});

describe('usage charges (hand-computed)', () => {
  const graduated = charge({ meter: 'api_requests', tiering: 'graduated', tiers: TIERS });
  const volume = charge({ meter: 'api_requests', tiering: 'volume', tiers: TIERS });
  it.each([
    [0, 0, []],
    [500, 0, [0]],
    [1000, 0, [0]],
    [1001, 1, [0, 1]], // 1 × 0.5 = 0.5 → 1
    [1003, 2, [0, 2]], // 1.5 → 2
    [10_000, 4500, [0, 4500]],
    [10_001, 4600, [0, 4500, 100]], // 0.25 + 100 = 100.25 → 100
    [20_000, 7100, [0, 4500, 2600]], // 10,000 × 0.25 + 100
  ])('graduated: %i units → %i (tiers %o)', (q, total, tiers) => {
    const p = priceUsageCharge(graduated, q);
    expect(p.amount).toBe(total);
    expect(p.tiers.map((t) => t.amount)).toEqual(tiers);
  });
  it('graduated tier lines say which units they price', () => {
    expect(priceUsageCharge(graduated, 12_000).tiers.map((t) => [t.tier, t.from_unit, t.to_unit, t.quantity])).toEqual([
      [1, 1, 1000, 1000],
      [2, 1001, 10_000, 9000],
      [3, 10_001, null, 2000],
    ]);
  });
  it.each([
    [1000, 0, 1],
    [5000, 2500, 2],
    [10_000, 5000, 2],
    [20_000, 5100, 3], // every unit at 0.25, plus the tier's flat 100
  ])('volume: %i units → %i (tier %i)', (q, total, tier) => {
    const p = priceUsageCharge(volume, q);
    expect(p.amount).toBe(total);
    expect(p.tiers.map((t) => t.tier)).toEqual([tier]);
  });
  it.each([
    [500, 0],
    [501, 2500],
    [1500, 2500],
    [1501, 5000],
    [10_500, 25_000],
  ])('package of 1,000 at 25.00 with 500 included: %i units → %i', (q, total) => {
    expect(
      priceUsageCharge(charge({ meter: 'm', tiering: 'package', included_units: 500, package_size: 1000, package_amount: 2500 }), q).amount,
    ).toBe(total);
  });
  it.each([
    [100, 0],
    [101, 2],
    [102, 3],
    [103, 5],
  ])('100 included units, then 1.5 per unit: %i → %i', (q, total) => {
    expect(
      priceUsageCharge(
        charge({ meter: 'm', tiering: 'graduated', included_units: 100, tiers: [{ up_to: null, unit_amount_decimal: '1.5' }] }),
        q,
      ).amount,
    ).toBe(total);
  });
  it('refuses tiers that do not ascend or end bounded, naming the field', () => {
    const r = UsageChargeSchema.safeParse({ meter: 'm', tiering: 'graduated', tiers: [{ up_to: 10 }, { up_to: 5 }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['tiers.1.up_to', 'tiers.1.up_to']);
  });
});

describe('plans', () => {
  it('revenue share takes the percentage of each transaction, at least the minimum', () => {
    const p = plan({ code: 'rs', name: 'Share', currency: 'USD', model: 'revenue_share', percent: '2.5', minimum_per_transaction: 50 });
    const q = quotePeriod(p, {
      period: NOV,
      transactions: [
        { id: 'tx1', amount: 10_000 },
        { id: 'tx2', amount: 1000 },
        { id: 'tx3', amount: 1999 },
        { id: 'tx4', amount: 2020 },
        { id: 'tx5', amount: 4_000_000 },
      ],
    });
    expect(q.lines.map((l) => l.amount)).toEqual([250, 50, 50, 51, 100_000]);
    expect(q.total).toBe(100_401);
    expect(q.lines[1]?.description).toContain('minimum');
  });
  it('hybrid charges the flat fee in advance and the usage of the period', () => {
    const p = plan({
      code: 'hy',
      name: 'Growth',
      currency: 'EUR',
      model: 'hybrid',
      interval: 'month',
      amount: 4900,
      charges: [
        { meter: 'api_requests', tiering: 'graduated', included_units: 10_000, tiers: [{ up_to: null, unit_amount_decimal: '0.1' }] },
        { meter: 'events_ingested', tiering: 'package', package_size: 1000, package_amount: 500 },
      ],
    });
    const q = quotePeriod(p, { period: NOV, usage: { api_requests: 12_345, events_ingested: 2001 } });
    expect(q.currency).toBe('EUR');
    expect(q.lines.map((l) => [l.kind, l.amount])).toEqual([
      ['flat_fee', 4900],
      ['usage', 235], // 2,345 × 0.1 = 234.5 → 235
      ['usage', 1500],
    ]);
    expect(q.total).toBe(6635);
  });
  it('refuses a plan with two charges for one meter or a share above 100%', () => {
    expect(
      PlanDefinitionSchema.safeParse({
        code: 'x',
        name: 'X',
        currency: 'USD',
        model: 'usage_based',
        charges: [
          { meter: 'm', tiering: 'package', package_size: 1, package_amount: 1 },
          { meter: 'm', tiering: 'package', package_size: 1, package_amount: 1 },
        ],
      }).success,
    ).toBe(false);
    const r = PlanDefinitionSchema.safeParse({ code: 'x', name: 'X', currency: 'USD', model: 'revenue_share', percent: '120' });
    expect(r.error?.issues[0]?.path).toEqual(['percent']);
  });
});

describe('periods and proration (hand-computed)', () => {
  it.each([
    ['2026-01-31', 'month', '2026-02-15', '2026-01-31', '2026-02-28'],
    ['2026-01-31', 'month', '2026-02-28', '2026-02-28', '2026-03-31'],
    ['2026-01-31', 'month', '2026-03-30', '2026-02-28', '2026-03-31'],
    ['2026-11-01', 'month', '2026-11-30', '2026-11-01', '2026-12-01'],
    ['2024-02-29', 'year', '2025-03-01', '2025-02-28', '2026-02-28'],
    ['2026-03-15', 'year', '2027-03-14', '2026-03-15', '2027-03-15'],
  ] as const)('anchor %s, %s: %s is in [%s, %s)', (anchor, interval, date, start, end) => {
    expect(periodContaining(anchor, interval, date)).toEqual({ start, end });
  });
  it('addMonths clamps to the month end', () => {
    expect([1, 2, 3, 12, 13].map((n) => addMonths('2026-01-31', n))).toEqual([
      '2026-02-28',
      '2026-03-31',
      '2026-04-30',
      '2027-01-31',
      '2027-02-28',
    ]);
  });

  const basic = plan({ code: 'basic', name: 'Basic', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 3000 });
  const pro = plan({ code: 'pro', name: 'Pro', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 9000 });
  it.each([
    ['2026-11-16', -1500, 4500], // 15 of 30 days left
    ['2026-11-11', -2000, 6000], // 20 of 30
    ['2026-11-30', -100, 300], // 1 of 30
  ])('upgrading Basic (30.00) to Pro (90.00) on %s: credit %i, charge %i', (on, credit, charge) => {
    const lines = prorationLines(basic, pro, NOV, on, NOV);
    expect(lines.map((l) => [l.kind, l.amount])).toEqual([
      ['proration_credit', credit],
      ['proration_charge', charge],
    ]);
  });
  it('prorates a 31-day month by the day, rounding each line once', () => {
    const oct = { start: '2026-10-01', end: '2026-11-01' };
    const a = plan({ code: 'a', name: 'A', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 1000 });
    const b = plan({ code: 'b', name: 'B', currency: 'USD', model: 'flat_fee', interval: 'month', amount: 2000 });
    // 10 days left: 1000 × 10/31 = 322.58 → 323; 2000 × 10/31 = 645.16 → 645
    expect(prorationLines(a, b, oct, '2026-10-22', oct).map((l) => l.amount)).toEqual([-323, 645]);
  });
  it('moving to an annual plan credits the unused month and charges the new year in full', () => {
    const annual = plan({ code: 'y', name: 'Yearly', currency: 'USD', model: 'flat_fee', interval: 'year', amount: 90_000 });
    const lines = prorationLines(basic, annual, NOV, '2026-11-16', { start: '2026-11-16', end: '2027-11-16' });
    expect(lines.map((l) => [l.kind, l.amount, l.period.start, l.period.end])).toEqual([
      ['proration_credit', -1500, '2026-11-16', '2026-12-01'],
      ['flat_fee', 90_000, '2026-11-16', '2027-11-16'],
    ]);
  });
});

// ---------------------------------------------------------------- properties (seeded generator)

function randomCharge(r: ReturnType<typeof rng>): UsageCharge {
  const tiering = r.pick(['graduated', 'volume', 'package'] as const);
  const included_units = r() < 0.5 ? 0 : r.int(0, 5000);
  if (tiering === 'package')
    return charge({ meter: 'm', tiering, included_units, package_size: r.int(1, 5000), package_amount: r.int(0, 100_000) });
  const n = r.int(1, 5);
  let bound = 0;
  const tiers = Array.from({ length: n }, (_, i) => {
    bound += r.int(1, 10_000);
    const dec = r() < 0.5 ? String(r.int(0, 500)) : `${r.int(0, 9)}.${String(r.int(0, 9999)).padStart(4, '0')}`;
    return { up_to: i === n - 1 ? null : bound, unit_amount_decimal: dec, flat_amount: r() < 0.3 ? r.int(0, 10_000) : 0 };
  });
  return charge({ meter: 'm', tiering, included_units, tiers });
}

describe('pricing properties (1,000 seeded cases each)', () => {
  it('line items and tier lines always sum to the total, in integer minor units', () => {
    const r = rng(42);
    for (let i = 0; i < 1000; i++) {
      const c = randomCharge(r);
      const q = r() < 0.8 ? r.int(0, 200_000) : r.int(0, 100_000) / 100;
      const priced = priceUsageCharge(c, q);
      expect(Number.isSafeInteger(priced.amount)).toBe(true);
      expect(priced.tiers.reduce((s, t) => s + t.amount, 0)).toBe(priced.amount);
      expect(priced.tiers.reduce((s, t) => s + t.quantity, 0)).toBeCloseTo(
        c.tiering === 'package' ? (priced.tiers[0]?.quantity ?? 0) : priced.billable_units,
        9,
      );
      const p = plan({
        code: 'h',
        name: 'H',
        currency: 'USD',
        model: 'hybrid',
        interval: 'month',
        amount: r.int(0, 100_000),
        charges: [c],
      });
      const quote = quotePeriod(p, { period: NOV, usage: { m: q } });
      expect(quote.total).toBe(quote.lines.reduce((s, l) => s + l.amount, 0));
      expect(quote.lines.every((l) => Number.isSafeInteger(l.amount))).toBe(true);
    }
  });

  it('graduated and package charges never fall when usage grows; each tier line is within half a unit of exact', () => {
    const r = rng(7);
    for (let i = 0; i < 1000; i++) {
      const c = randomCharge(r);
      const q = r.int(0, 100_000);
      const a = priceUsageCharge(c, q).amount;
      const b = priceUsageCharge(c, q + r.int(0, 5000)).amount;
      if (c.tiering !== 'volume') expect(b).toBeGreaterThanOrEqual(a);
      if (c.tiering === 'graduated') {
        for (const t of priceUsageCharge(c, q).tiers) {
          const exact = t.quantity * Number(t.unit_amount_decimal) + t.flat_amount;
          expect(Math.abs(t.amount - exact)).toBeLessThanOrEqual(0.5 + 1e-6 * Math.max(1, exact));
        }
      }
    }
  });

  it('proration: a change to the same plan nets to zero; prorated parts of a period add up to the fee within one unit', () => {
    const r = rng(99);
    for (let i = 0; i < 1000; i++) {
      const amount = r.int(0, 10_000_000);
      const anchor = `2026-${String(r.int(1, 12)).padStart(2, '0')}-${String(r.int(1, 28)).padStart(2, '0')}`;
      const period = periodContaining(anchor, 'month', anchor);
      const days = daysBetween(period.start, period.end);
      const cut = r.int(0, days);
      expect(prorate(amount, days, days)).toBe(amount);
      expect(prorate(amount, 0, days)).toBe(0);
      expect(Math.abs(prorate(amount, cut, days) + prorate(amount, days - cut, days) - amount)).toBeLessThanOrEqual(1);
      const p = plan({ code: 'p', name: 'P', currency: 'USD', model: 'flat_fee', interval: 'month', amount });
      const on = `${period.start.slice(0, 8)}${String(Math.min(28, r.int(1, 28))).padStart(2, '0')}`;
      if (on >= period.start && on < period.end) {
        const lines = prorationLines(p, p, period, on, period);
        expect(lines.reduce((s, l) => s + l.amount, 0)).toBe(0);
      }
    }
  });
});
