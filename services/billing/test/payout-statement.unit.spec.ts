// Revenue-share statements against hand-computed tables (domain/payout/statement.ts, pure).
import { describe, expect, it } from 'vitest';
import { computeStatement, firstYearEnd, termsAt } from '../src/domain/payout/statement.ts';

const pay = (id: string, amount: number, at: string, start: string, customer = 'c1') => ({
  charge_id: id,
  customer_id: customer,
  amount,
  occurred_at: at,
  contract_start: start,
});

describe('payout statements', () => {
  it('first contract year at first_year_pct, from the anniversary at renewal_pct (defaults 20 / 10)', () => {
    const s = computeStatement({
      payments: [
        pay('ch_1', 10_000, '2026-03-14T23:59:59.999Z', '2025-03-15T00:00:00Z'), // last instant of year one: 20 %
        pay('ch_2', 10_000, '2026-03-15T00:00:00Z', '2025-03-15T00:00:00Z'), // the anniversary: 10 %
        pay('ch_3', 1, '2026-03-20T00:00:00Z', '2026-03-01T00:00:00Z'), // 0.2 → 0
        pay('ch_4', 3, '2026-03-21T00:00:00Z', '2026-03-01T00:00:00Z'), // 0.6 → 1
        pay('ch_5', 5, '2026-03-22T00:00:00Z', '2020-03-01T00:00:00Z'), // 0.5 → 1 (half away from zero)
      ],
      refunds: [],
      terms: [],
      carriedIn: 0,
      minimum: 0,
    });
    expect(s.lines.map((l) => [l.source_id, l.contract_year, l.percent, l.share])).toEqual([
      ['ch_1', 'first', 20, 2000],
      ['ch_2', 'renewal', 10, 1000],
      ['ch_3', 'first', 20, 0],
      ['ch_4', 'first', 20, 1],
      ['ch_5', 'renewal', 10, 1],
    ]);
    expect(s).toMatchObject({ subtotal: 3002, total: 3002, payable: 3002, carried_out: 0 });
  });

  it('takes the terms in force at the payment, and reverses a refund at the refunded payment’s terms', () => {
    const terms = [
      { effective_at: '2026-01-01T00:00:00Z', first_year_pct: 25, renewal_pct: 12.5 },
      { effective_at: '2026-06-01T00:00:00Z', first_year_pct: 30, renewal_pct: 15 },
    ];
    expect(termsAt(terms, '2025-12-31T00:00:00Z')).toEqual({ first_year_pct: 20, renewal_pct: 10 });
    expect(termsAt(terms, '2026-06-01T00:00:00Z')).toMatchObject({ first_year_pct: 30 });
    const s = computeStatement({
      payments: [pay('ch_new', 1000, '2026-07-01T00:00:00Z', '2026-01-10T00:00:00Z')],
      refunds: [
        { ...pay('ch_old', 401, '2026-07-02T00:00:00Z', '2026-01-10T00:00:00Z'), refund_id: 're_1', charged_at: '2026-02-01T00:00:00Z' },
      ],
      terms,
      carriedIn: 0,
      minimum: 0,
    });
    // 1000 × 30 % = 300; the refund of 401 paid in February (25 %): -100.25 → -100.
    expect(s.lines.map((l) => [l.kind, l.amount, l.percent, l.share])).toEqual([
      ['payment', 1000, 30, 300],
      ['refund_reversal', -401, 25, -100],
    ]);
    expect(s.subtotal).toBe(200);
  });

  it('carries a total below the minimum (or negative) over, and pays it once it reaches the minimum', () => {
    const base = { refunds: [], terms: [], minimum: 5000 };
    const small = computeStatement({ ...base, payments: [pay('a', 24_995, '2026-05-01T00:00:00Z', '2026-04-01T00:00:00Z')], carriedIn: 0 });
    expect(small).toMatchObject({ subtotal: 4999, payable: 0, carried_out: 4999 });
    const exact = computeStatement({ ...base, payments: [pay('b', 5, '2026-06-01T00:00:00Z', '2026-04-01T00:00:00Z')], carriedIn: 4999 });
    expect(exact).toMatchObject({ subtotal: 1, total: 5000, payable: 5000, carried_out: 0 });
    const negative = computeStatement({
      ...base,
      payments: [],
      refunds: [
        { ...pay('c', 10_000, '2026-07-01T00:00:00Z', '2026-04-01T00:00:00Z'), refund_id: 're_c', charged_at: '2026-05-01T00:00:00Z' },
      ],
      carriedIn: 1000,
    });
    expect(negative).toMatchObject({ subtotal: -2000, total: -1000, payable: 0, carried_out: -1000 });
    expect(new Date(firstYearEnd('2024-02-29T00:00:00Z')).toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });
});
