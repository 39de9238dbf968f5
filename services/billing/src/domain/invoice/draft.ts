import type { PlanVersion } from '@pep/contracts';
import { addMonths, type IsoDate, type Period, parseDate } from '../pricing/period.ts';
import { intervalOf, type LineItem, quoteOf, type Quote, recurringFee, usageLines } from '../pricing/quote.ts';
import type { PlanSegment, SubscriptionState } from '../subscription/subscription.ts';

export const planKey = (code: string, version: number) => `${code}@${version}`;

/** The plan segments of a subscription, with a scheduled change that falls due before `until` counted as recorded. */
export function segmentsUntil(state: SubscriptionState, plans: Map<string, PlanVersion>, until: IsoDate): PlanSegment[] {
  const segs = [...(state.segments ?? [])];
  const s = state.scheduled;
  const last = segs.at(-1);
  if (s && last && parseDate(s.effective_date) < parseDate(until)) {
    const plan = plans.get(planKey(s.plan_code, s.plan_version));
    if (plan) {
      const interval = intervalOf(plan);
      segs.push({
        plan_code: s.plan_code,
        plan_version: s.plan_version,
        since: s.effective_date,
        interval,
        anchor_date: interval === last.interval ? last.anchor_date : s.effective_date,
        via: 'period_end',
      });
    }
  }
  return segs;
}

/** Every plan version a subscription's invoice may need. */
export function planRefsOf(state: SubscriptionState): { plan_code: string; plan_version: number }[] {
  return [...(state.segments ?? []), ...(state.scheduled ? [state.scheduled] : [])];
}

/**
 * The draft invoice of one partner for one calendar month M = [start, end) (UTC), from its subscription, the plan
 * versions and the month's usage. Pure, so the same stream always gives the same invoice:
 * - the recurring fee of every subscription period that starts in M (fees are in advance), except a period that
 *   starts on the day of an immediate change (its fee is in that change's proration lines);
 * - the proration lines of the immediate changes effective in M;
 * - the usage charges (in arrears) of the plan in force on M's last day, over M's usage.
 * Revenue-share plans charge nothing here yet: no transactions reach billing.
 */
export function draftInvoice(input: {
  state: SubscriptionState;
  plans: Map<string, PlanVersion>;
  month: Period;
  usage: Record<string, number>;
}): Quote {
  const { state, plans, month } = input;
  const m1 = parseDate(month.start);
  const m2 = parseDate(month.end);
  const segs = segmentsUntil(state, plans, month.end);
  const lines: LineItem[] = [];
  for (const [i, seg] of segs.entries()) {
    const plan = plans.get(planKey(seg.plan_code, seg.plan_version));
    if (!plan) throw new Error(`plan ${seg.plan_code} v${seg.plan_version} is missing`);
    const until = Math.min(segs[i + 1] ? parseDate((segs[i + 1] as PlanSegment).since) : Number.POSITIVE_INFINITY, m2);
    const fee = recurringFee(plan);
    if (fee <= 0) continue;
    const step = seg.interval === 'month' ? 1 : 12;
    for (let k = 0; k < 1200; k++) {
      const start = addMonths(seg.anchor_date, k * step);
      const s = parseDate(start);
      if (s >= until) break;
      if (s < m1 || s < parseDate(seg.since)) continue;
      if (start === seg.since && seg.via === 'immediate') continue;
      lines.push({
        kind: 'flat_fee',
        description: `${plan.name} (${seg.interval === 'year' ? 'annual' : 'monthly'} fee, in advance)`,
        quantity: 1,
        unit_amount_decimal: String(fee),
        amount: fee,
        period: { start, end: addMonths(seg.anchor_date, (k + 1) * step) },
      });
    }
  }
  for (const c of state.changes) {
    const d = parseDate(c.effective_date);
    if (c.timing === 'immediate' && d >= m1 && d < m2) lines.push(...c.proration);
  }
  const lastDay = m2 - 86_400_000;
  const inForce = [...segs].reverse().find((x) => parseDate(x.since) <= lastDay);
  const plan = inForce ? plans.get(planKey(inForce.plan_code, inForce.plan_version)) : undefined;
  if (plan && (plan.model === 'usage_based' || plan.model === 'hybrid')) lines.push(...usageLines(plan.charges, input.usage, month));
  return quoteOf(state.currency, lines);
}
