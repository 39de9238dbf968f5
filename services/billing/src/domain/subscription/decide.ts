import type { PlanVersion } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, ValidationError } from '@pep/runtime';
import { type IsoDate, parseDate, periodContaining } from '../pricing/period.ts';
import { intervalOf, monthlyEquivalent, prorationLines } from '../pricing/quote.ts';
import type { PlanRef, SubscriptionState } from './subscription.ts';

const ref = (p: PlanVersion): PlanRef => ({ plan_code: p.code, plan_version: p.version });

export type SubscriptionCommand =
  | { type: 'Subscribe'; partnerId: string; subscriptionId: string; plan: PlanVersion; effectiveDate: IsoDate }
  | {
      type: 'ChangePlan';
      /** The plan version in force now and the one asked for (loaded by the caller: deciders read no tables). */
      current: PlanVersion;
      /** The plan a due scheduled change moves to, when one is due before this change. */
      scheduled?: PlanVersion;
      plan: PlanVersion;
      effectiveDate: IsoDate;
      timing: 'auto' | 'immediate' | 'period_end';
    };

type Ev =
  | { type: 'billing.subscription_started'; data: Record<string, unknown> }
  | { type: 'billing.subscription_plan_changed'; data: Record<string, unknown> }
  | { type: 'billing.subscription_change_scheduled'; data: Record<string, unknown> };

/**
 * Subscriptions: one per partner. A change asked for with timing `auto` is an upgrade when the new plan's fee
 * per month is not lower (applied on its date, the fee prorated by the day) and a downgrade otherwise (applied
 * at the end of the current period). A scheduled change that falls due before a later command is applied first.
 */
export function decideSubscription(command: SubscriptionCommand, state: SubscriptionState): Ev[] {
  switch (command.type) {
    case 'Subscribe': {
      if (state.current) throw new ConflictError(`partner ${command.partnerId} already has a subscription; change its plan instead`);
      return [
        {
          type: 'billing.subscription_started',
          data: {
            partner_id: command.partnerId,
            subscription_id: command.subscriptionId,
            ...ref(command.plan),
            effective_date: command.effectiveDate,
            interval: intervalOf(command.plan),
            currency: command.plan.currency,
          },
        },
      ];
    }
    case 'ChangePlan': {
      const cur = state.current;
      if (!cur || !state.id || !state.partner_id) throw new IllegalTransitionError('the partner has no subscription to change');
      const on = command.effectiveDate;
      if (parseDate(on) < parseDate(cur.since))
        throw new ValidationError([{ path: 'effective_date', message: `must be on or after ${cur.since}` }]);
      if (command.plan.currency !== state.currency)
        throw new ValidationError([
          { path: 'plan_code', message: `the plan bills in ${command.plan.currency}, the subscription in ${state.currency}` },
        ]);
      const out: Ev[] = [];
      let from = command.current;
      let anchor = cur.anchor_date;
      let interval = cur.interval;
      const base = { partner_id: state.partner_id, subscription_id: state.id, currency: state.currency };
      if (state.scheduled && command.scheduled && parseDate(state.scheduled.effective_date) <= parseDate(on)) {
        // The downgrade scheduled for a period end took effect then: record it before this change.
        const s = command.scheduled;
        const sameInterval = intervalOf(s) === interval;
        anchor = sameInterval ? anchor : state.scheduled.effective_date;
        interval = intervalOf(s);
        out.push({
          type: 'billing.subscription_plan_changed',
          data: {
            ...base,
            from: ref(from),
            to: ref(s),
            effective_date: state.scheduled.effective_date,
            timing: 'period_end',
            interval,
            anchor_date: anchor,
            proration: [],
          },
        });
        from = s;
      }
      if (from.code === command.plan.code && from.version === command.plan.version) return out;
      const downgrade = lessThan(monthlyEquivalent(command.plan), monthlyEquivalent(from));
      const timing = command.timing === 'auto' ? (downgrade ? 'period_end' : 'immediate') : command.timing;
      const period = periodContaining(anchor, interval, on);
      if (timing === 'period_end') {
        out.push({
          type: 'billing.subscription_change_scheduled',
          data: { ...base, from: ref(from), to: ref(command.plan), effective_date: period.end },
        });
        return out;
      }
      const newInterval = intervalOf(command.plan);
      const newAnchor = newInterval === interval ? anchor : on;
      const proration = prorationLines(from, command.plan, period, on, periodContaining(newAnchor, newInterval, on));
      out.push({
        type: 'billing.subscription_plan_changed',
        data: {
          ...base,
          from: ref(from),
          to: ref(command.plan),
          effective_date: on,
          timing: 'immediate',
          interval: newInterval,
          anchor_date: newAnchor,
          proration,
        },
      });
      return out;
    }
    default: {
      const never: never = command;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}

const lessThan = (a: { num: bigint; den: bigint }, b: { num: bigint; den: bigint }) => a.num * b.den < b.num * a.den;
