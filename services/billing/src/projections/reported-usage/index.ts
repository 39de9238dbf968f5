import type { DataOf, BillingUsageUpdated, StoredEvent } from '@pep/contracts';
import { externalFilter, type Projection } from '@pep/events';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';

export const REPORTED_USAGE_PROJECTION = 'billing-reported-usage';
export const REPORTED_USAGE_EVENT_TYPES = ['billing.usage_updated'] as const;

type UsageUpdated = DataOf<typeof BillingUsageUpdated>;

/**
 * The usage totals partners report for their own customers (`billing.usage_updated`). A report is a total, not
 * a delta: the latest report (in stream order) of a customer, metric and period replaces the one before.
 */
export function reportedUsageProjection(prefix: string): Projection<BillingDB> {
  return {
    name: REPORTED_USAGE_PROJECTION,
    filterSubject: externalFilter(prefix),
    async apply(trx, events: StoredEvent[]) {
      for (const e of events) {
        if (e.type !== 'billing.usage_updated' || !e.partnerid) continue;
        const d = e.data as UsageUpdated;
        const row = {
          partner_id: e.partnerid,
          customer_id: d.customer_id,
          metric: d.metric,
          period_start: d.period_start,
          period_end: d.period_end,
          quantity: String(d.quantity),
          unit: d.unit ?? null,
          subscription_id: d.subscription_id ?? null,
          application_id: d.application_id ?? null,
          reported_at: e.time,
          event_id: e.id,
          seq: e.seq,
        };
        const { partner_id: _p, customer_id: _c, metric: _m, period_start: _s, ...update } = row;
        await trx
          .insertInto('reported_usage')
          .values(row)
          .onConflict((oc) => oc.columns(['partner_id', 'customer_id', 'metric', 'period_start']).doUpdateSet(update))
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('reported_usage').execute();
    },
  };
}

/** A stored report: the table's own row type (no hand-kept copy). */
export type ReportedUsageRow = BillingDB['reported_usage'];

export function reportedUsageView(r: ReportedUsageRow) {
  return {
    object: 'reported_usage' as const,
    partner_id: r.partner_id,
    customer_id: r.customer_id,
    metric: r.metric,
    quantity: Number(r.quantity),
    unit: r.unit,
    subscription_id: r.subscription_id,
    application_id: r.application_id,
    period_start: r.period_start,
    period_end: r.period_end,
    reported_at: r.reported_at,
    event_id: r.event_id,
  };
}

/** Reports in stream order of their last update; the cursor is the event id of the last one seen. */
export async function listReportedUsage(
  db: Kysely<BillingDB>,
  f: { partnerId: string | undefined; customerId?: string; metric?: string; limit: number; startingAfterSeq?: number },
): Promise<ReportedUsageRow[]> {
  let q = db
    .selectFrom('reported_usage')
    .selectAll()
    .orderBy('seq', 'asc')
    .limit(f.limit + 1);
  if (f.partnerId !== undefined) q = q.where('partner_id', '=', f.partnerId);
  if (f.customerId) q = q.where('customer_id', '=', f.customerId);
  if (f.metric) q = q.where('metric', '=', f.metric);
  if (f.startingAfterSeq !== undefined) q = q.where('seq', '>', f.startingAfterSeq);
  return q.execute();
}

export async function reportedUsageByEventId(db: Kysely<BillingDB>, eventId: string) {
  return db.selectFrom('reported_usage').select(['seq', 'partner_id']).where('event_id', '=', eventId).executeTakeFirst();
}
