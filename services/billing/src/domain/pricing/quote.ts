import type { PlanDefinition, UsageCharge } from '@pep/contracts';
import { formatDecimal, mul, parseDecimal, ratio, roundMinor } from './money.ts';
import { daysBetween, type IsoDate, type Period } from './period.ts';
import { type PricedUsage, priceUsageCharge, type TierLine } from './usage-charge.ts';

export type LineKind = 'flat_fee' | 'usage' | 'late_usage' | 'revenue_share' | 'proration_credit' | 'proration_charge';

/** A line item: quantity × unit price (decimal, minor units) = amount (integer minor units, negative for credits). */
export interface LineItem {
  kind: LineKind;
  description: string;
  quantity: number;
  unit_amount_decimal: string;
  amount: number;
  period: Period;
  meter?: string;
  transaction_id?: string;
  tiers?: TierLine[];
}

export interface Quote {
  currency: string;
  lines: LineItem[];
  /** Always the sum of the line items (each rounded once). */
  total: number;
}

export interface Transaction {
  id: string;
  /** Transaction value in minor units of the plan's currency. */
  amount: number;
}

const sum = (lines: LineItem[]) => lines.reduce((s, l) => s + l.amount, 0);
export const quoteOf = (currency: string, lines: LineItem[]): Quote => ({ currency, lines, total: sum(lines) });

function usageLine(p: PricedUsage, period: Period): LineItem {
  return {
    kind: 'usage',
    description: `${p.meter}: ${p.quantity} units${p.included_units ? ` (${p.included_units} included)` : ''}`,
    meter: p.meter,
    quantity: p.billable_units,
    unit_amount_decimal: p.billable_units > 0 ? formatDecimal(ratio(p.amount * 1_000_000, Math.round(p.billable_units * 1_000_000))) : '0',
    amount: p.amount,
    period,
    tiers: p.tiers,
  };
}

export function usageLines(charges: UsageCharge[], usage: Record<string, number>, period: Period): LineItem[] {
  return charges.map((c) => usageLine(priceUsageCharge(c, usage[c.meter] ?? 0), period));
}

/** A revenue share line per transaction: round(value × percent / 100), at least the minimum per transaction. */
export function revenueShareLines(
  plan: Extract<PlanDefinition, { model: 'revenue_share' }>,
  transactions: Transaction[],
  period: Period,
): LineItem[] {
  const pct = mul(parseDecimal(plan.percent), ratio(1, 100));
  return transactions.map((t) => {
    if (!Number.isSafeInteger(t.amount) || t.amount < 0) throw new RangeError(`transaction ${t.id} amount must be a non-negative integer`);
    const share = roundMinor(mul(ratio(t.amount), pct));
    const amount = Math.max(share, plan.minimum_per_transaction ?? 0);
    return {
      kind: 'revenue_share' as const,
      description: `${plan.percent}% of transaction ${t.id}${amount > share ? ' (minimum per transaction)' : ''}`,
      transaction_id: t.id,
      quantity: t.amount,
      unit_amount_decimal: formatDecimal(pct),
      amount,
      period,
    };
  });
}

const flatLine = (plan: { name: string; amount: number; interval: string }, period: Period): LineItem => ({
  kind: 'flat_fee',
  description: `${plan.name} (${plan.interval === 'year' ? 'annual' : 'monthly'} fee, in advance)`,
  quantity: 1,
  unit_amount_decimal: String(plan.amount),
  amount: plan.amount,
  period,
});

/**
 * What one plan charges for one period: the flat fee of the period (in advance), the usage of the period's
 * meters (in arrears, by `usage`), and the revenue share of its transactions.
 */
export function quotePeriod(
  plan: PlanDefinition,
  input: { period: Period; usage?: Record<string, number>; transactions?: Transaction[] },
): Quote {
  const usage = input.usage ?? {};
  switch (plan.model) {
    case 'flat_fee':
      return quoteOf(plan.currency, [flatLine(plan, input.period)]);
    case 'usage_based':
      return quoteOf(plan.currency, usageLines(plan.charges, usage, input.period));
    case 'revenue_share':
      return quoteOf(plan.currency, revenueShareLines(plan, input.transactions ?? [], input.period));
    case 'hybrid':
      return quoteOf(plan.currency, [flatLine(plan, input.period), ...usageLines(plan.charges, usage, input.period)]);
    default: {
      const never: never = plan;
      throw new Error(`unknown plan model ${JSON.stringify(never)}`);
    }
  }
}

/** Usage-based and revenue-share plans bill monthly; flat and hybrid plans by their own interval. */
export const intervalOf = (plan: PlanDefinition): 'month' | 'year' =>
  plan.model === 'flat_fee' || plan.model === 'hybrid' ? plan.interval : 'month';

/** The recurring fee of a plan for its interval (0 for usage-based and revenue-share plans). */
export const recurringFee = (plan: PlanDefinition) => (plan.model === 'flat_fee' || plan.model === 'hybrid' ? plan.amount : 0);
/** The recurring fee per month, exactly, to compare plans with different intervals. */
export const monthlyEquivalent = (plan: PlanDefinition) =>
  plan.model === 'flat_fee' || plan.model === 'hybrid' ? ratio(plan.amount, plan.interval === 'year' ? 12 : 1) : ratio(0);

/** `amount × days / periodDays`, rounded once (the day-proration of a fee). */
export function prorate(amount: number, days: number, periodDays: number): number {
  if (!Number.isInteger(days) || !Number.isInteger(periodDays) || periodDays <= 0 || days < 0 || days > periodDays)
    throw new RangeError(`cannot prorate ${days} of ${periodDays} days`);
  return roundMinor(mul(ratio(amount), ratio(days, periodDays)));
}

/**
 * The proration of a plan change on `on` inside the current period (fees are paid in advance): a credit for the
 * unused days of the old plan's fee and a charge for the new plan's fee over the same remaining days. When the
 * new plan bills on another interval, its period starts on the change date and is charged in full.
 */
export function prorationLines(
  from: PlanDefinition,
  to: PlanDefinition,
  current: Period,
  on: IsoDate,
  nextPeriodOfNew: Period,
): LineItem[] {
  const total = daysBetween(current.start, current.end);
  const remaining = daysBetween(on, current.end);
  const lines: LineItem[] = [];
  const oldFee = recurringFee(from);
  const rest: Period = { start: on, end: current.end };
  if (oldFee > 0 && remaining > 0) {
    lines.push({
      kind: 'proration_credit',
      description: `Unused time on ${from.name} (${remaining} of ${total} days)`,
      quantity: remaining,
      unit_amount_decimal: `-${formatDecimal(ratio(oldFee, total))}`,
      amount: -prorate(oldFee, remaining, total),
      period: rest,
    });
  }
  const newFee = recurringFee(to);
  const sameInterval = intervalOf(to) === intervalOf(from);
  if (newFee > 0 && sameInterval && remaining > 0) {
    lines.push({
      kind: 'proration_charge',
      description: `Remaining time on ${to.name} (${remaining} of ${total} days)`,
      quantity: remaining,
      unit_amount_decimal: formatDecimal(ratio(newFee, total)),
      amount: prorate(newFee, remaining, total),
      period: rest,
    });
  } else if (newFee > 0 && !sameInterval) {
    lines.push(flatLine(to as { name: string; amount: number; interval: string }, nextPeriodOfNew));
  }
  return lines;
}
