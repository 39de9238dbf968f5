import { ConflictError, NotFoundError } from '@pep/runtime';
import type { PolicyEvent, PolicyState, StoredPolicy } from './rollback-policy.ts';

export type PolicyCommand =
  | { type: 'CreatePolicy'; policy: StoredPolicy }
  | { type: 'ReplacePolicy'; policy: StoredPolicy }
  | { type: 'DeletePolicy'; policyId: string };

/** Pure decider of a customer's rollback policy (one per customer; its id derives from partner + customer). */
export function decidePolicy(command: PolicyCommand, state: PolicyState): PolicyEvent[] {
  switch (command.type) {
    case 'CreatePolicy':
      if (state.exists)
        throw new ConflictError(`customer ${command.policy.customer_id} already has a rollback policy (${command.policy.policy_id})`);
      return [{ type: 'rollback.policy_created', data: command.policy }];
    case 'ReplacePolicy':
      if (!state.exists) throw new NotFoundError(`rollback policy ${command.policy.policy_id} not found`);
      return [{ type: 'rollback.policy_updated', data: command.policy }];
    case 'DeletePolicy': {
      if (!state.exists || !state.policy) throw new NotFoundError(`rollback policy ${command.policyId} not found`);
      const p = state.policy;
      return [{ type: 'rollback.policy_deleted', data: { policy_id: p.policy_id, partner_id: p.partner_id, customer_id: p.customer_id } }];
    }
    default: {
      const never: never = command;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}
