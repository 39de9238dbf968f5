import type { PlanDefinition, PlanVersion } from '@pep/contracts';
import type { AggregateKind } from '@pep/events';

export interface PlanState {
  versions: PlanVersion[];
}

export const PLANS_PROJECTION = 'billing-plans';

export function evolvePlan(state: PlanState, e: { type: string; data: unknown }): PlanState {
  if (e.type !== 'billing.plan_version_published') return state;
  const d = e.data as { version: number; plan: PlanDefinition };
  return { versions: [...state.versions, { ...d.plan, version: d.version }] };
}

export const planAggregate: AggregateKind<PlanState> = {
  kind: 'billing_plan',
  initial: () => ({ versions: [] }),
  evolve: evolvePlan,
  projection: PLANS_PROJECTION,
};
