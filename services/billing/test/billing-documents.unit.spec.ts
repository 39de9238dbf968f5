import { type PlanDefinition, PlanDefinitionSchema, type PlanVersion } from '@pep/contracts';
import { IllegalTransitionError, ValidationError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { formatMoney } from '../src/app/invoice-pdf.ts';
import { backoffMs } from '../src/app/mail-outbox.ts';
import { forecastOf, linearForecast, mrrOn } from '../src/domain/forecast/forecast.ts';
import { decideCreditNote, type IssueCreditNote } from '../src/domain/invoice/credit-note.ts';
import { type InvoiceState, invoiceAggregate } from '../src/domain/invoice/invoice.ts';
import { dateIn, startOfDayIn } from '../src/domain/pricing/timezone.ts';
import type { PlanSegment, SubscriptionState } from '../src/domain/subscription/subscription.ts';

const plan = (code: string, interval: 'month' | 'year', amount: number): PlanVersion => ({
  ...(PlanDefinitionSchema.parse({ code, name: code, currency: 'USD', model: 'flat_fee', interval, amount }) as PlanDefinition),
  version: 1,
});
const plans = new Map<string, PlanVersion>([
  ['basic@1', plan('basic', 'month', 3000)],
  ['annual@1', plan('annual', 'year', 120_000)],
  ['team@1', plan('team', 'month', 5000)],
  ['free@1', plan('free', 'month', 0)],
]);
const seg = (plan_code: string, since: string, interval: 'month' | 'year' = 'month'): PlanSegment => ({
  plan_code,
  plan_version: 1,
  since,
  interval,
  anchor_date: since,
  via: 'start',
});
const sub = (partner: string, segments: PlanSegment[]): SubscriptionState => ({
  id: `sub_${partner}`,
  partner_id: partner,
  currency: 'USD',
  started_on: (segments[0] as PlanSegment).since,
  current: undefined,
  scheduled: undefined,
  changes: [],
  segments,
});
const A = sub('prt_a', [seg('basic', '2025-12-01')]);
const B = sub('prt_b', [seg('annual', '2026-06-10', 'year')]);
const C = sub('prt_c', [seg('team', '2026-01-15'), { ...seg('free', '2026-12-01'), via: 'immediate' }]);

describe('forecast (hand-computed table)', () => {
  it('MRR per subscription: monthly fee, annual / 12, 0 before the start and on a free plan', () => {
    expect(mrrOn(A, plans, '2025-11-30')).toBe(0);
    expect(mrrOn(A, plans, '2025-12-01')).toBe(3000);
    expect(mrrOn(B, plans, '2026-06-30')).toBe(10_000);
    expect(mrrOn(C, plans, '2026-11-30')).toBe(5000);
    expect(mrrOn(C, plans, '2026-12-01')).toBe(0);
  });
  it('history, ARR, NRR, churn and the regression forecast with its 80% interval', () => {
    const f = forecastOf({ subscriptions: [A, B, C], plans, asOf: '2026-12-15', currency: 'USD' });
    // month-ends Dec 2025 … Nov 2026, then today
    expect(f.history.map((h) => h.mrr)).toEqual([3000, 8000, 8000, 8000, 8000, 8000, 18000, 18000, 18000, 18000, 18000, 18000, 13000]);
    expect(f.history.map((h) => h.month)[0]).toBe('2025-12');
    expect([f.mrr, f.arr]).toEqual([13_000, 156_000]);
    expect(f.net_revenue_retention).toBe(1); // A paid 3000 a year ago and pays 3000 now
    expect(f.churn_rate).toBe(0.3333); // A, B, C paid a month ago; C pays nothing now
    // x = 0..12, x̄ = 6, Sxx = 182, Sxy = 210000 → b = 1153.846, a = 5692.308, s = 3447.914, t(0.90, 11) = 1.363
    expect(f.forecast.points).toEqual([
      { month: '2027-03', mrr: 23000, low: 17202, high: 28798 },
      { month: '2027-06', mrr: 26462, low: 20038, high: 32885 },
      { month: '2027-12', mrr: 33385, low: 25441, high: 41328 },
    ]);
    expect(f.partners).toEqual([
      { partner_id: 'prt_b', mrr: 10_000, arr: 120_000 },
      { partner_id: 'prt_a', mrr: 3000, arr: 36_000 },
    ]);
  });
  it('with fewer than three points, the forecast is the last MRR without an interval', () => {
    expect(linearForecast([5000, 6000], [3])).toEqual([{ h: 3, mrr: 6000, low: 6000, high: 6000 }]);
    expect(forecastOf({ subscriptions: [A], plans, asOf: '2026-12-15', currency: 'EUR' }).mrr).toBe(0);
  });
});

describe('credit note decider', () => {
  const P = 'prt_1x000000000000000000000000';
  type Ev = { type: string; data: Record<string, unknown> };
  const spec = deciderSpec<InvoiceState, IssueCreditNote, Ev>({
    decide: (c, s) => decideCreditNote(c, s).map(({ type, data }) => ({ type, data })),
    evolve: (s, e) => invoiceAggregate.evolve(s, e as never),
    initialState: invoiceAggregate.initial,
  });
  const created: Ev = { type: 'billing.invoice_created', data: { invoice_id: 'inv_1', partner_id: P, currency: 'USD', total: 3000 } };
  const note = (amount: number, invoiceNumber: string | null = 'PEP-000007'): IssueCreditNote => ({
    type: 'IssueCreditNote',
    invoiceId: 'inv_1',
    invoiceNumber,
    reason: 'goodwill',
    lines: [{ description: 'credit', amount }],
    issuedAt: '2026-11-05T00:00:00.000Z',
  });
  it('credits at most the remaining total, numbering notes after the invoice', () => {
    const first = spec.given([created]).when(note(1000)).events();
    expect(first.map((e) => [e.data.credit_note_id, e.data.number, e.data.amount])).toEqual([['inv_1_cn1', 'PEP-000007-CN1', 1000]]);
    const second = spec
      .given([created, ...first])
      .when(note(2000))
      .events();
    expect(second.map((e) => e.data.number)).toEqual(['PEP-000007-CN2']);
    spec
      .given([created, ...first])
      .when(note(2001))
      .thenThrows(ValidationError);
    spec
      .given([created, ...first, ...second])
      .when(note(1))
      .thenThrows(ValidationError);
  });
  it('refuses a draft and a void invoice', () => {
    spec.given([created]).when(note(100, null)).thenThrows(IllegalTransitionError);
    spec
      .given([created, { type: 'billing.invoice_voided', data: { invoice_id: 'inv_1' } }])
      .when(note(100))
      .thenThrows(IllegalTransitionError);
  });
});

describe('billing time zone boundaries', () => {
  it('local midnight in the zone, across DST changes', () => {
    expect(startOfDayIn('2026-11-01', 'UTC').toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(startOfDayIn('2026-11-01', 'America/New_York').toISOString()).toBe('2026-11-01T04:00:00.000Z'); // EDT, DST ends that day
    expect(startOfDayIn('2026-12-01', 'America/New_York').toISOString()).toBe('2026-12-01T05:00:00.000Z'); // EST
    expect(startOfDayIn('2026-10-01', 'Europe/Berlin').toISOString()).toBe('2026-09-30T22:00:00.000Z');
    expect(startOfDayIn('2026-11-01', 'Asia/Kolkata').toISOString()).toBe('2026-10-31T18:30:00.000Z');
    expect(startOfDayIn('2026-04-01', 'Pacific/Kiritimati').toISOString()).toBe('2026-03-31T10:00:00.000Z');
  });
  it('the local date of an instant', () => {
    expect(dateIn(new Date('2026-10-31T23:30:00Z'), 'Europe/Berlin')).toBe('2026-11-01');
    expect(dateIn(new Date('2026-11-01T03:00:00Z'), 'America/New_York')).toBe('2026-10-31');
  });
});

describe('money and retries', () => {
  it('formats minor units with the currency exponent', () => {
    expect(formatMoney(123456, 'USD')).toBe('USD 1234.56');
    expect(formatMoney(-5, 'EUR')).toBe('-EUR 0.05');
    expect(formatMoney(1500, 'JPY')).toBe('JPY 1500');
    expect(formatMoney(1234, 'BHD')).toBe('BHD 1.234');
  });
  it('backs off doubling per attempt, capped at an hour', () => {
    expect([1, 2, 3, 4].map((a) => backoffMs(1000, a))).toEqual([1000, 2000, 4000, 8000]);
    expect(backoffMs(1000, 40)).toBe(3_600_000);
  });
});
