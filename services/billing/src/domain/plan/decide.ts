import type { PlanDefinition } from '@pep/contracts';
import { ConflictError, NotFoundError, ValidationError } from '@pep/runtime';
import type { PlanState } from './plan.ts';

export type PlanCommand = { type: 'CreatePlan'; plan: PlanDefinition } | { type: 'PublishPlanVersion'; code: string; plan: PlanDefinition };
export type PlanEvent = { type: 'billing.plan_version_published'; data: { version: number; plan: PlanDefinition } };

/** Plans are versioned: creating publishes version 1; every later definition is the next version, never an edit. */
export function decidePlan(command: PlanCommand, state: PlanState): PlanEvent[] {
  switch (command.type) {
    case 'CreatePlan':
      if (state.versions.length > 0) throw new ConflictError(`plan ${command.plan.code} already exists; publish a new version instead`);
      return [{ type: 'billing.plan_version_published', data: { version: 1, plan: command.plan } }];
    case 'PublishPlanVersion': {
      if (command.plan.code !== command.code)
        throw new ValidationError([{ path: 'code', message: `must be the plan's code ${command.code}` }]);
      const last = state.versions.at(-1);
      if (!last) throw new NotFoundError(`plan ${command.code} not found`);
      if (last.currency !== command.plan.currency)
        throw new ValidationError([{ path: 'currency', message: `a plan keeps its currency (${last.currency}); create another plan` }]);
      return [{ type: 'billing.plan_version_published', data: { version: last.version + 1, plan: command.plan } }];
    }
    default: {
      const never: never = command;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}
