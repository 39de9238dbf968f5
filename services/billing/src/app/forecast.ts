import type { PlanVersion } from '@pep/contracts';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../db/schema.ts';
import { forecastOf } from '../domain/forecast/forecast.ts';
import { planKey, planRefsOf } from '../domain/invoice/draft.ts';
import type { IsoDate } from '../domain/pricing/period.ts';
import { planVersion } from '../projections/plans/index.ts';
import { listSubscriptions } from '../projections/subscriptions/index.ts';

/**
 * The revenue forecast from the subscriptions read model: one currency at a time (the one asked for, else the one
 * most subscriptions use), platform-wide or for one partner. `other_currencies` shows the MRR left out.
 */
export async function revenueForecast(
  db: Kysely<BillingDB>,
  q: { partnerId?: string | undefined; currency?: string | undefined; asOf: IsoDate },
) {
  const subs = (await listSubscriptions(db, q.partnerId)).map((s) => s.state).filter((s) => s.partner_id);
  const plans = new Map<string, PlanVersion>();
  for (const s of subs)
    for (const ref of planRefsOf(s)) {
      const key = planKey(ref.plan_code, ref.plan_version);
      if (plans.has(key)) continue;
      const row = await planVersion(db, ref.plan_code, ref.plan_version);
      if (row) plans.set(key, row.plan);
    }
  const counts = new Map<string, number>();
  for (const s of subs) counts.set(s.currency, (counts.get(s.currency) ?? 0) + 1);
  const currency = q.currency ?? [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? 'USD';
  const figures = forecastOf({ subscriptions: subs, plans, asOf: q.asOf, currency });
  const other: Record<string, number> = {};
  for (const c of counts.keys()) if (c !== currency) other[c] = forecastOf({ subscriptions: subs, plans, asOf: q.asOf, currency: c }).mrr;
  return { object: 'billing_forecast' as const, as_of: q.asOf, partner_id: q.partnerId ?? null, ...figures, other_currencies: other };
}
