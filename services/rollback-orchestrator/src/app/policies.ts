import type { CreateRollbackPolicyBody } from '@pep/contracts';
import { ValidationError } from '@pep/runtime';
import { assertPublicUrl, generateSecret, type SsrfPolicy } from '@pep/webhooks';
import type { z } from 'zod';
import { policyIdFor } from '../domain/keys.ts';
import { decidePolicy } from '../domain/rollback-policy/decide.ts';
import {
  evolvePolicy,
  initialPolicy,
  POLICY_AGGREGATE,
  type PolicyState,
  type StoredPolicy,
  type StoredProvider,
} from '../domain/rollback-policy/rollback-policy.ts';
import { POLICIES_PROJECTION, type PolicyRow } from '../projections/policies/index.ts';
import type { AggregateKind, Aggregates } from './aggregates.ts';
import { type SecretsKey, seal, sealAad } from './secrets.ts';

export const policyAggregate: AggregateKind<PolicyState> = { kind: POLICY_AGGREGATE, initial: initialPolicy, evolve: evolvePolicy };

type PolicyInput = Omit<z.output<typeof CreateRollbackPolicyBody>, 'partner_id'>;

/** The API view of a policy: tokens and webhook secrets are never returned (only that they are set). */
export function policyView(row: PolicyRow, revealed: Map<string, string> = new Map()) {
  const p = row.policy;
  return {
    id: p.policy_id,
    object: 'rollback_policy' as const,
    partner_id: p.partner_id,
    customer_id: p.customer_id,
    name: p.name,
    mode: p.mode,
    cooldown_minutes: p.cooldown_minutes,
    max_actions: p.max_actions,
    candidates: p.candidates,
    restore_flags_on_resolve: p.restore_flags_on_resolve,
    notify_emails: p.notify_emails,
    providers: p.providers.map(({ token: _t, ...rest }) => ({ ...rest, token_set: true })),
    journeys: p.journeys.map((j) => ({
      ...j,
      webhooks: j.webhooks.map((w) => ({ url: w.url, secret_set: true, ...(revealed.has(w.url) ? { secret: revealed.get(w.url) } : {}) })),
    })),
    version: row.version,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Policy use cases: URLs checked against the outbound policy (SSRF), secrets sealed before they reach the stream. */
export function createPolicyUseCases(deps: { aggregates: Aggregates; secretsKey: SecretsKey; outbound: SsrfPolicy; now?: () => Date }) {
  const now = deps.now ?? (() => new Date());

  async function checkUrls(input: PolicyInput) {
    const errors: { path: string; message: string }[] = [];
    const check = async (url: string, path: string) => {
      try {
        await assertPublicUrl(url, deps.outbound);
      } catch (err) {
        errors.push({ path, message: (err as Error).message });
      }
    };
    await Promise.all([
      ...input.providers.map((p, i) => check(p.base_url, `providers.${i}.base_url`)),
      ...input.journeys.flatMap((j, ji) => j.webhooks.map((w, wi) => check(w.url, `journeys.${ji}.webhooks.${wi}.url`))),
    ]);
    if (errors.length) throw new ValidationError(errors);
  }

  function build(partnerId: string, input: PolicyInput): { policy: StoredPolicy; revealed: Map<string, string> } {
    const policyId = policyIdFor(partnerId, input.customer_id);
    const revealed = new Map<string, string>();
    const providers = input.providers.map(
      (p) => ({ ...p, token: seal(p.token, deps.secretsKey, sealAad(policyId, 'provider', p.id)) }) as StoredProvider,
    );
    const journeys = input.journeys.map((j) => ({
      funnel: j.funnel,
      ...(j.step ? { step: j.step } : {}),
      repositories: j.repositories,
      flags: j.flags,
      webhooks: j.webhooks.map((w) => {
        const secret = w.secret ?? generateSecret();
        revealed.set(w.url, secret);
        return { url: w.url, secret: seal(secret, deps.secretsKey, sealAad(policyId, 'webhook', w.url)) };
      }),
    }));
    return {
      revealed,
      policy: {
        policy_id: policyId,
        partner_id: partnerId,
        customer_id: input.customer_id,
        name: input.name ?? null,
        mode: input.mode,
        cooldown_minutes: input.cooldown_minutes,
        max_actions: input.max_actions,
        candidates: input.candidates,
        restore_flags_on_resolve: input.restore_flags_on_resolve,
        notify_emails: input.notify_emails,
        providers,
        journeys,
      },
    };
  }

  const rowOf = (policy: StoredPolicy, version: number, createdAt?: string): PolicyRow => ({
    policy,
    version,
    created_at: createdAt ?? now().toISOString(),
    updated_at: now().toISOString(),
  });

  return {
    async create(partnerId: string, input: PolicyInput) {
      await checkUrls(input);
      const { policy, revealed } = build(partnerId, input);
      const r = await deps.aggregates.execute(
        policyAggregate,
        policy.policy_id,
        { partnerId },
        (s) => decidePolicy({ type: 'CreatePolicy', policy }, s),
        POLICIES_PROJECTION,
      );
      return policyView(rowOf(policy, r.version), revealed);
    },
    async replace(existing: PolicyRow, input: PolicyInput) {
      if (input.customer_id !== existing.policy.customer_id) {
        throw new ValidationError([{ path: 'customer_id', message: 'a policy stays with its customer; create a new policy instead' }]);
      }
      await checkUrls(input);
      const { policy, revealed } = build(existing.policy.partner_id, input);
      const r = await deps.aggregates.execute(
        policyAggregate,
        policy.policy_id,
        { partnerId: policy.partner_id },
        (s) => decidePolicy({ type: 'ReplacePolicy', policy }, s),
        POLICIES_PROJECTION,
      );
      return policyView(rowOf(policy, r.version, existing.created_at), revealed);
    },
    async delete(existing: PolicyRow) {
      await deps.aggregates.execute(
        policyAggregate,
        existing.policy.policy_id,
        { partnerId: existing.policy.partner_id },
        (s) => decidePolicy({ type: 'DeletePolicy', policyId: existing.policy.policy_id }, s),
        POLICIES_PROJECTION,
      );
    },
  };
}
export type PolicyUseCases = ReturnType<typeof createPolicyUseCases>;
