import type { PlanVersion } from '@pep/contracts';
import { planKey, segmentsUntil } from '../invoice/draft.ts';
import { addDays, addMonths, type IsoDate, parseDate } from '../pricing/period.ts';
import type { SubscriptionState } from '../subscription/subscription.ts';

export const FORECAST_METHOD =
  'Ordinary least-squares linear regression of platform (or partner) MRR on the month index over the monthly history ' +
  '(up to 13 points: the last 12 month-ends and today), extrapolated to +3, +6 and +12 months; low/high are the 80% ' +
  'prediction interval ŷ ± t(0.90, n−2)·s·√(1 + 1/n + (x−x̄)²/Sxx). Fewer than 3 points: the last MRR, no interval.';

/**
 * MRR of one subscription on a day: the monthly equivalent of the recurring fee of the plan in force that day (an
 * annual fee / 12, rounded half up to the minor unit); usage and revenue-share charges are not recurring and not in
 * MRR. 0 before the subscription starts.
 */
export function mrrOn(state: SubscriptionState, plans: Map<string, PlanVersion>, day: IsoDate): number {
  if (!state.started_on || parseDate(day) < parseDate(state.started_on)) return 0;
  const segs = segmentsUntil(state, plans, addDays(day, 1));
  const seg = [...segs].reverse().find((s) => parseDate(s.since) <= parseDate(day));
  const plan = seg ? plans.get(planKey(seg.plan_code, seg.plan_version)) : undefined;
  if (!plan || (plan.model !== 'flat_fee' && plan.model !== 'hybrid')) return 0;
  return plan.interval === 'year' ? Math.floor((plan.amount + 6) / 12) : plan.amount;
}

/** Two-sided 80% Student t quantiles t(0.90, df) for df 1..30; above that the normal 1.2816. */
const T90 = [
  3.078, 1.886, 1.638, 1.533, 1.476, 1.44, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.35, 1.345, 1.341, 1.337, 1.333, 1.33, 1.328, 1.325,
  1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313, 1.311, 1.31,
];
const t90 = (df: number) => (df >= 1 && df <= 30 ? (T90[df - 1] as number) : 1.2816);

/** OLS fit of y on x = 0..n-1 and its prediction with the 80% prediction interval at x0. */
export function linearForecast(ys: number[], horizons: number[]) {
  const n = ys.length;
  if (n < 3) {
    const last = Math.round(ys.at(-1) ?? 0);
    return horizons.map((h) => ({ h, mrr: last, low: last, high: last }));
  }
  const xbar = (n - 1) / 2;
  const ybar = ys.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (i - xbar) ** 2;
    sxy += (i - xbar) * ((ys[i] as number) - ybar);
  }
  const b = sxy / sxx;
  const a = ybar - b * xbar;
  const sse = ys.reduce((acc, y, i) => acc + (y - (a + b * i)) ** 2, 0);
  const s = Math.sqrt(sse / (n - 2));
  return horizons.map((h) => {
    const x0 = n - 1 + h;
    const yhat = a + b * x0;
    const half = t90(n - 2) * s * Math.sqrt(1 + 1 / n + (x0 - xbar) ** 2 / sxx);
    return { h, mrr: Math.round(yhat), low: Math.round(yhat - half), high: Math.round(yhat + half) };
  });
}

export interface ForecastInput {
  subscriptions: SubscriptionState[];
  plans: Map<string, PlanVersion>;
  asOf: IsoDate;
  currency: string;
}

/** The day each history point is measured: the last day of each of the 12 months before asOf's month, then asOf. */
export function historyDays(asOf: IsoDate): { month: string; day: IsoDate }[] {
  const first = `${asOf.slice(0, 7)}-01`;
  const days: { month: string; day: IsoDate }[] = [];
  for (let k = 12; k >= 1; k--) {
    const start = addMonths(first, -k);
    days.push({ month: start.slice(0, 7), day: addDays(addMonths(start, 1), -1) });
  }
  days.push({ month: asOf.slice(0, 7), day: asOf });
  return days;
}

/** MRR, ARR, history, NRR, churn and the forecast of the subscriptions in one currency (pure). */
export function forecastOf(input: ForecastInput) {
  const subs = input.subscriptions.filter((s) => s.partner_id && s.currency === input.currency);
  const days = historyDays(input.asOf);
  const at = (s: SubscriptionState, day: IsoDate) => mrrOn(s, input.plans, day);
  const history = days.map(({ month, day }) => {
    const values = subs.map((s) => at(s, day));
    return { month, mrr: values.reduce((a, b) => a + b, 0), partners: values.filter((v) => v > 0).length };
  });
  // History starts at the first month with any MRR (a young platform has a short history, not a run of zeros).
  const firstPaying = history.findIndex((h) => h.mrr > 0);
  const series = firstPaying < 0 ? [] : history.slice(firstPaying).map((h) => h.mrr);
  const yearAgo = (days[0] as { day: IsoDate }).day;
  const monthAgo = (days[11] as { day: IsoDate }).day;
  const cohort = subs.filter((s) => at(s, yearAgo) > 0);
  const cohortThen = cohort.reduce((a, s) => a + at(s, yearAgo), 0);
  const nrr = cohortThen > 0 ? cohort.reduce((a, s) => a + at(s, input.asOf), 0) / cohortThen : null;
  const payingMonthAgo = subs.filter((s) => at(s, monthAgo) > 0);
  const churned = payingMonthAgo.filter((s) => at(s, input.asOf) === 0).length;
  const mrr = history.at(-1)?.mrr ?? 0;
  const points = linearForecast(series, [3, 6, 12]).map((p) => ({
    month: addMonths(`${input.asOf.slice(0, 7)}-01`, p.h).slice(0, 7),
    mrr: p.mrr,
    low: p.low,
    high: p.high,
  }));
  return {
    currency: input.currency,
    mrr,
    arr: mrr * 12,
    history,
    net_revenue_retention: nrr === null ? null : Math.round(nrr * 10_000) / 10_000,
    churn_rate: payingMonthAgo.length ? Math.round((churned / payingMonthAgo.length) * 10_000) / 10_000 : null,
    forecast: { method: FORECAST_METHOD, points },
    partners: subs
      .map((s) => ({ partner_id: s.partner_id as string, mrr: at(s, input.asOf), arr: at(s, input.asOf) * 12 }))
      .filter((p) => p.mrr > 0)
      .sort((a, b) => b.mrr - a.mrr || a.partner_id.localeCompare(b.partner_id)),
  };
}
