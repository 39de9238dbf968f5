import type { PlatformEvent } from '@pep/contracts';
import { ConflictError, NotFoundError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { decidePolicy, type PolicyCommand } from '../src/domain/rollback-policy/decide.ts';
import { evolvePolicy, initialPolicy, type PolicyEvent, type PolicyState } from '../src/domain/rollback-policy/rollback-policy.ts';
import { policy } from './support/policy.ts';

/** Given these past events (folded with the aggregate's evolve), when the command is decided. */
const policySpec = deciderSpec<PolicyState, PolicyCommand, PolicyEvent>({
  decide: decidePolicy,
  evolve: (s, e) => evolvePolicy(s, { ...e, time: '2026-03-01T12:00:00.000Z' } as PlatformEvent),
  initialState: initialPolicy,
});

const created = (p = policy()): PolicyEvent => ({ type: 'rollback.policy_created', data: p });
const deleted = (p = policy()): PolicyEvent => ({
  type: 'rollback.policy_deleted',
  data: { policy_id: p.policy_id, partner_id: p.partner_id, customer_id: p.customer_id },
});

describe('decidePolicy', () => {
  it('creates the policy of a customer that has none', () => {
    policySpec
      .given()
      .when({ type: 'CreatePolicy', policy: policy() })
      .thenEvents([{ type: 'rollback.policy_created', data: policy() }]);
  });

  it('refuses a second policy for the same customer (409), naming the existing one', () => {
    const decide = policySpec.given([created()]).when({ type: 'CreatePolicy', policy: policy({ name: 'again' }) });
    decide.thenThrows(ConflictError);
    expect(decide.events).toThrow(/customer cus_1 already has a rollback policy \(rbp_1\)/);
  });

  it('a deleted policy can be created again', () => {
    policySpec
      .given([created(), deleted()])
      .when({ type: 'CreatePolicy', policy: policy({ mode: 'approval' }) })
      .thenEvents([{ type: 'rollback.policy_created', data: policy({ mode: 'approval' }) }]);
  });

  it('replaces an existing policy with the whole new one', () => {
    const next = policy({ mode: 'dry_run', max_actions: 2 });
    policySpec
      .given([created()])
      .when({ type: 'ReplacePolicy', policy: next })
      .thenEvents([{ type: 'rollback.policy_updated', data: next }]);
  });

  it('cannot replace a policy that does not exist, or no longer does (404)', () => {
    policySpec.given().when({ type: 'ReplacePolicy', policy: policy() }).thenThrows(NotFoundError);
    policySpec.given([created(), deleted()]).when({ type: 'ReplacePolicy', policy: policy() }).thenThrows(NotFoundError);
  });

  it('deletes with the ids of the policy as it stands (after replacements)', () => {
    const moved = policy({ customer_id: 'cus_2' });
    policySpec
      .given([created(), { type: 'rollback.policy_updated', data: moved }])
      .when({ type: 'DeletePolicy', policyId: moved.policy_id })
      .thenEvents([
        { type: 'rollback.policy_deleted', data: { policy_id: moved.policy_id, partner_id: moved.partner_id, customer_id: 'cus_2' } },
      ]);
  });

  it('cannot delete a policy twice (404 the second time)', () => {
    policySpec.given([created(), deleted()]).when({ type: 'DeletePolicy', policyId: policy().policy_id }).thenThrows(NotFoundError);
    expect(policySpec.given().when({ type: 'DeletePolicy', policyId: 'rbp_01jd8x3m5q7r9t1v3w5y7z9a1c' }).events).toThrow(
      /rollback policy rbp_01jd8x3m5q7r9t1v3w5y7z9a1c not found/,
    );
  });
});
