import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';
import {
  evolveSubscription,
  initialSubscription,
  SUBSCRIPTIONS_PROJECTION,
  type SubscriptionState,
} from '../../domain/subscription/subscription.ts';

export { SUBSCRIPTIONS_PROJECTION };
export const SUBSCRIPTION_EVENT_TYPES = [
  'billing.subscription_started',
  'billing.subscription_plan_changed',
  'billing.subscription_change_scheduled',
] as const;

/** Each partner's subscription, folded with the aggregate's own evolve. */
export function subscriptionsProjection(prefix: string): Projection<BillingDB> {
  return {
    name: SUBSCRIPTIONS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'billing_subscription'),
    async apply(trx, events: StoredEvent[]) {
      const touched = new Map<string, { state: SubscriptionState; seq: number }>();
      for (const e of events) {
        if (!(SUBSCRIPTION_EVENT_TYPES as readonly string[]).includes(e.type)) continue;
        const partnerId = (e.data as { partner_id: string }).partner_id;
        let cur = touched.get(partnerId);
        if (!cur) {
          const row = await trx.selectFrom('subscriptions').select(['state', 'seq']).where('partner_id', '=', partnerId).executeTakeFirst();
          cur = { state: (row?.state as SubscriptionState | undefined) ?? initialSubscription(), seq: row?.seq ?? 0 };
        }
        touched.set(partnerId, { state: evolveSubscription(cur.state, e), seq: e.seq });
      }
      for (const [partnerId, { state, seq }] of touched) {
        await trx
          .insertInto('subscriptions')
          .values({ partner_id: partnerId, state: JSON.stringify(state), seq })
          .onConflict((oc) => oc.column('partner_id').doUpdateSet({ state: JSON.stringify(state), seq }))
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('subscriptions').execute();
    },
  };
}

export async function subscriptionOf(
  db: Kysely<BillingDB>,
  partnerId: string,
): Promise<{ state: SubscriptionState; seq: number } | undefined> {
  const r = await db.selectFrom('subscriptions').select(['state', 'seq']).where('partner_id', '=', partnerId).executeTakeFirst();
  return r ? { state: r.state as SubscriptionState, seq: r.seq } : undefined;
}

/** A partner's subscription (at most one), or every subscription for an admin without a filter. */
export async function listSubscriptions(db: Kysely<BillingDB>, partnerId: string | undefined) {
  let q = db.selectFrom('subscriptions').select(['state', 'seq']).orderBy('partner_id').limit(1000);
  if (partnerId !== undefined) q = q.where('partner_id', '=', partnerId);
  return (await q.execute()).map((r) => ({ state: r.state as SubscriptionState, seq: r.seq }));
}
