import type { AggregateKind } from '@pep/events';
import type { LineItem } from '../pricing/quote.ts';
import type { Interval, IsoDate } from '../pricing/period.ts';

export interface PlanRef {
  plan_code: string;
  plan_version: number;
}

export interface SubscriptionChange {
  from: PlanRef;
  to: PlanRef;
  effective_date: IsoDate;
  timing: 'immediate' | 'period_end';
  proration: LineItem[];
}

/** The plan in force from a date on, and how it came (the subscription's start, an immediate change, a period-end change). */
export interface PlanSegment extends PlanRef {
  since: IsoDate;
  interval: Interval;
  anchor_date: IsoDate;
  via: 'start' | 'immediate' | 'period_end';
}

export interface SubscriptionState {
  id: string | undefined;
  partner_id: string | undefined;
  currency: string;
  started_on: IsoDate;
  current: (PlanRef & { since: IsoDate; interval: Interval; anchor_date: IsoDate }) | undefined;
  scheduled: (PlanRef & { effective_date: IsoDate }) | undefined;
  changes: SubscriptionChange[];
  segments: PlanSegment[];
}

export const SUBSCRIPTIONS_PROJECTION = 'billing-subscriptions';

export const initialSubscription = (): SubscriptionState => ({
  id: undefined,
  partner_id: undefined,
  currency: '',
  started_on: '',
  current: undefined,
  scheduled: undefined,
  changes: [],
  segments: [],
});

export function evolveSubscription(state: SubscriptionState, e: { type: string; data: unknown }): SubscriptionState {
  switch (e.type) {
    case 'billing.subscription_started': {
      const d = e.data as PlanRef & {
        partner_id: string;
        subscription_id: string;
        effective_date: string;
        interval: Interval;
        currency: string;
      };
      return {
        ...state,
        id: d.subscription_id,
        partner_id: d.partner_id,
        currency: d.currency,
        started_on: d.effective_date,
        current: {
          plan_code: d.plan_code,
          plan_version: d.plan_version,
          since: d.effective_date,
          interval: d.interval,
          anchor_date: d.effective_date,
        },
        scheduled: undefined,
        segments: [
          {
            plan_code: d.plan_code,
            plan_version: d.plan_version,
            since: d.effective_date,
            interval: d.interval,
            anchor_date: d.effective_date,
            via: 'start',
          },
        ],
      };
    }
    case 'billing.subscription_plan_changed': {
      const d = e.data as SubscriptionChange & { interval: Interval; anchor_date: string };
      return {
        ...state,
        current: { ...d.to, since: d.effective_date, interval: d.interval, anchor_date: d.anchor_date },
        scheduled: undefined,
        changes: [...state.changes, { from: d.from, to: d.to, effective_date: d.effective_date, timing: d.timing, proration: d.proration }],
        segments: [
          ...(state.segments ?? []),
          { ...d.to, since: d.effective_date, interval: d.interval, anchor_date: d.anchor_date, via: d.timing },
        ],
      };
    }
    case 'billing.subscription_change_scheduled': {
      const d = e.data as { to: PlanRef; effective_date: string };
      return { ...state, scheduled: { ...d.to, effective_date: d.effective_date } };
    }
    default:
      return state;
  }
}

export const subscriptionAggregate: AggregateKind<SubscriptionState> = {
  kind: 'billing_subscription',
  initial: initialSubscription,
  evolve: evolveSubscription,
  projection: SUBSCRIPTIONS_PROJECTION,
};
