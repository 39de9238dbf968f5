import type { PlannedAction } from '@pep/contracts';
import { type EarlyResult, earlyValue, type Logger, startEarly } from '@pep/runtime';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Kysely } from 'kysely';
import type { OrchestratorDB } from '../db/schema.ts';
import { policyById } from '../projections/policies/index.ts';
import type { StoredPolicy } from '../domain/rollback-policy/rollback-policy.ts';
import { decideRun } from '../domain/rollback-run/decide.ts';
import {
  evolveRun,
  initialRun,
  isExecutable,
  type Outcome,
  outcomeKey,
  type Phase,
  type PlannedData,
  RUN_AGGREGATE,
  type RunState,
  restorableActions,
} from '../domain/rollback-run/rollback-run.ts';
import { type Outbound, ProviderError } from '../providers/http.ts';
import type { ActionClaims } from './action-claims.ts';
import type { AggregateKind, Aggregates } from './aggregates.ts';
import { createPerformers } from './performers.ts';
import type { SecretsKey } from './secrets.ts';

export const runAggregate: AggregateKind<RunState> = { kind: RUN_AGGREGATE, initial: initialRun, evolve: evolveRun };

export interface ExecutorDeps {
  db: Kysely<OrchestratorDB>;
  aggregates: Aggregates;
  claims: ActionClaims;
  outbound: Outbound;
  nc: NatsConnection;
  rpcPrefix: string;
  secretsKey: SecretsKey;
  logger: Logger;
  /** A policy secret the keyring cannot open (counted by the caller). */
  onUnreadableSecret?: () => void;
  /** Each performed action: its kind, whether it worked, and seconds since the run was planned (the incident). */
  onOutcome?: (kind: string, ok: boolean, secondsSincePlanned: number) => void;
  settings: {
    CLAIM_GRACE_MS: number;
    FLAG_WEBHOOK_TIMEOUT_MS: number;
    FLAG_WEBHOOK_ATTEMPTS: number;
    GITHUB_RPC_TIMEOUT_MS: number;
    PUBLIC_BASE_URL: string;
  };
  now?: () => Date;
}

/** Thrown when another process holds an action's claim: the message is retried later. */
export class ActionBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionBusyError';
  }
}

/**
 * The saga's execution step: runs a run's pending actions in parallel, each claimed first (exactly-once
 * effect) and bounded by the run's per-action timeout, then records the outcomes, which closes the run.
 */
export function createExecutor(deps: ExecutorDeps) {
  const now = deps.now ?? (() => new Date());
  const { settings } = deps;

  const performAction = createPerformers({ ...deps, now });

  async function perform(
    key: string,
    plan: PlannedData,
    action: PlannedAction,
    phase: Phase,
    policy: StoredPolicy | undefined,
  ): Promise<Outcome> {
    const started = Date.now();
    const deadline = started + plan.action_timeout_ms;
    const remaining = (cap: number) => Math.max(50, Math.min(cap, deadline - Date.now()));
    const idempotencyKey = `${key}:${action.action_id}:${phase}`;
    const base = { action_id: action.action_id, kind: action.kind, phase } as const;
    try {
      const done = await performAction({ key, plan, action, phase, policy, deadline, remaining, idempotencyKey });
      return {
        ok: true,
        ...base,
        attempts: done.attempts,
        duration_ms: Date.now() - started,
        request: done.value.request,
        response: done.value.response,
        result: done.value.result,
        at: now().toISOString(),
      };
    } catch (err) {
      // Not swallowed: a failed action is its outcome (recorded on the run, shown in the audit trail).
      const e = err as Error & { attemptsMade?: number };
      return {
        ok: false,
        ...base,
        attempts: e.attemptsMade ?? 1,
        duration_ms: Date.now() - started,
        request: '',
        response: err instanceof ProviderError ? err.response : '',
        error: e.message,
        at: now().toISOString(),
      };
    }
  }

  /** Claims, performs and stores one action; null when another process holds it. */
  async function runAction(
    key: string,
    plan: PlannedData,
    action: PlannedAction,
    phase: Phase,
    policy: EarlyResult<StoredPolicy | undefined>,
  ): Promise<Outcome | null> {
    const claim = await deps.claims.claim(key, action.action_id, phase, plan.action_timeout_ms + settings.CLAIM_GRACE_MS);
    if (claim.kind === 'done') return claim.outcome;
    if (claim.kind === 'busy') return null;
    const outcome = await perform(key, plan, action, phase, await policy.result());
    if (phase === 'rollback') deps.onOutcome?.(action.kind, outcome.ok, (Date.parse(outcome.at) - Date.parse(plan.planned_at)) / 1000);
    await deps.claims.complete(key, action.action_id, phase, outcome);
    return outcome;
  }

  /** Runs the fast path is executing in this process, by incident key. */
  const inflight = new Map<string, Promise<void>>();
  const metaOf = (plan: PlannedData, key: string) => ({ partnerId: plan.partner_id, correlationId: key });

  async function execute(key: string, plan: PlannedData, pending: PlannedAction[], policy: EarlyResult<StoredPolicy | undefined>) {
    const results = await Promise.all(pending.map((a) => runAction(key, plan, a, 'rollback', policy)));
    const outcomes = results.filter((r): r is Outcome => r !== null);
    await deps.aggregates.execute(runAggregate, key, metaOf(plan, key), (s) =>
      decideRun({ type: 'RecordOutcomes', phase: 'rollback', outcomes, now: now() }, s),
    );
    if (results.some((r) => r === null)) throw new ActionBusyError(`an action of ${plan.incident_id} is being executed elsewhere`);
  }

  return {
    /**
     * The fast path: executes a run the intake has just planned, in this process, without waiting for the
     * stream to deliver `rollback.planned`. The claims make it safe next to the runs worker, which remains
     * the path after a crash or for approved runs.
     */
    startPlanned(key: string, plan: PlannedData, policy: StoredPolicy): void {
      const run = execute(key, plan, plan.actions, earlyValue(policy))
        .catch((err) => {
          if (!(err instanceof ActionBusyError))
            deps.logger.warn('fast-path execution failed; the runs worker retries', { incident_id: plan.incident_id, err });
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, run);
    },

    /** Executes what is pending of a run; returns false when the run is not executable (awaiting approval, closed). */
    async executeRun(key: string): Promise<boolean> {
      // The fast path of this process is on it: wait for it instead of competing for the claims.
      await inflight.get(key);
      const snap = await deps.aggregates.load(runAggregate, key);
      if (!isExecutable(snap.state)) return false;
      const plan = snap.state.planned as PlannedData;
      const pending = plan.actions.filter((a) => !snap.state.outcomes.has(outcomeKey('rollback', a.action_id)));
      // The policy (provider secrets) is read while the actions are claimed.
      const policy = startEarly(plan.policy_id ? policyById(deps.db, plan.policy_id).then((r) => r?.policy) : Promise.resolve(undefined));
      await execute(key, plan, pending, policy);
      return true;
    },
    /** After a resolve: turns the flags the run turned off back on, when the policy says so. */
    async restoreRun(key: string): Promise<'restored' | 'nothing' | 'wait'> {
      const snap = await deps.aggregates.load(runAggregate, key);
      const plan = snap.state.planned;
      if (!plan || snap.state.restored) return 'nothing';
      if (isExecutable(snap.state)) return 'wait';
      const policy = plan.policy_id ? (await policyById(deps.db, plan.policy_id))?.policy : undefined;
      if (!policy?.restore_flags_on_resolve) return 'nothing';
      const restorable = restorableActions(snap.state);
      if (restorable.length === 0) return 'nothing';
      const results = await Promise.all(
        restorable.map((a) => runAction(key, plan, { ...a, kind: 'flag_on', reason: 'restore' }, 'restore', earlyValue(policy))),
      );
      const outcomes = results.filter((r): r is Outcome => r !== null);
      await deps.aggregates.execute(runAggregate, key, metaOf(plan, key), (s) =>
        decideRun({ type: 'RecordOutcomes', phase: 'restore', outcomes, now: now() }, s),
      );
      if (results.some((r) => r === null)) throw new ActionBusyError(`a restore of ${plan.incident_id} is being executed elsewhere`);
      return 'restored';
    },
  };
}
export type Executor = ReturnType<typeof createExecutor>;
