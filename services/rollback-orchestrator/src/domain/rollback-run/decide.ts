import { IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { PlannedData, Outcome, RunEvent, RunState, TerminalData } from './rollback-run.ts';
import { outcomeKey, restorableActions } from './rollback-run.ts';

export type RunCommand =
  | { type: 'PlanRollback'; plan: PlannedData }
  | { type: 'ApproveRollback'; approvedBy: string; now: Date }
  | { type: 'RecordOutcomes'; phase: 'rollback' | 'restore'; outcomes: (Outcome & { action_id: string })[]; now: Date };

const ids = (p: PlannedData) => ({ incident_id: p.incident_id, partner_id: p.partner_id, customer_id: p.customer_id });

function terminalOf(plan: PlannedData, outcomes: Map<string, Outcome>, now: Date): RunEvent {
  const dryRun = plan.status === 'dry_run';
  const skipped = plan.status === 'dry_run' || plan.status === 'skipped';
  const actions: TerminalData['actions'] = plan.actions.map((a) => {
    if (skipped)
      return {
        action_id: a.action_id,
        kind: a.kind,
        status: 'skipped',
        detail: dryRun ? 'dry run: not executed' : (plan.skipped_reason ?? 'skipped'),
      };
    const o = outcomes.get(outcomeKey('rollback', a.action_id));
    return o?.ok
      ? { action_id: a.action_id, kind: a.kind, status: 'succeeded', detail: JSON.stringify(o.result).slice(0, 500) }
      : { action_id: a.action_id, kind: a.kind, status: 'failed', detail: o && !o.ok ? o.error : 'no outcome' };
  });
  const succeeded = actions.filter((a) => a.status === 'succeeded').length;
  const failed = actions.filter((a) => a.status === 'failed').length;
  const data: TerminalData = { ...ids(plan), succeeded, failed, dry_run: dryRun, actions, finished_at: now.toISOString() };
  const type = failed === 0 ? 'rollback.completed' : succeeded === 0 ? 'rollback.failed' : 'rollback.partially_failed';
  return { type, data };
}

/**
 * Pure decider of a rollback run (the saga's state): plan once, approve once, record each action's outcome
 * once, and close the run with its terminal event when every action has an outcome. Dry runs and skipped
 * runs close at planning.
 */
export function decideRun(command: RunCommand, state: RunState): RunEvent[] {
  switch (command.type) {
    case 'PlanRollback': {
      if (state.planned) return [];
      const p = command.plan;
      const planned: RunEvent = { type: 'rollback.planned', data: p };
      if (p.status === 'dry_run' || p.status === 'skipped') return [planned, terminalOf(p, new Map(), new Date(p.planned_at))];
      return [planned];
    }
    case 'ApproveRollback': {
      const p = state.planned;
      if (!p) throw new NotFoundError('rollback run not found');
      if (state.approved) return [];
      if (p.status !== 'awaiting_approval')
        throw new IllegalTransitionError(`the rollback is ${p.status}; only a run awaiting approval can be approved`);
      return [{ type: 'rollback.approved', data: { ...ids(p), approved_by: command.approvedBy, approved_at: command.now.toISOString() } }];
    }
    case 'RecordOutcomes': {
      const p = state.planned;
      if (!p) throw new NotFoundError('rollback run not found');
      const events: RunEvent[] = [];
      const outcomes = new Map(state.outcomes);
      for (const o of command.outcomes) {
        const key = outcomeKey(command.phase, o.action_id);
        if (outcomes.has(key)) continue;
        outcomes.set(key, o);
        const { ok, ...rest } = o as Outcome & { ok: boolean };
        events.push(
          ok
            ? { type: 'rollback.action_succeeded', data: { ...ids(p), ...(rest as Omit<Extract<Outcome, { ok: true }>, 'ok'>) } }
            : { type: 'rollback.action_failed', data: { ...ids(p), ...(rest as Omit<Extract<Outcome, { ok: false }>, 'ok'>) } },
        );
      }
      if (command.phase === 'rollback' && !state.terminal && p.actions.every((a) => outcomes.has(outcomeKey('rollback', a.action_id)))) {
        events.push(terminalOf(p, outcomes, command.now));
      }
      if (command.phase === 'restore' && !state.restored) {
        const restorable = restorableActions(state);
        const done = restorable.map((a) => outcomes.get(outcomeKey('restore', a.action_id)));
        if (done.every((o) => o !== undefined)) {
          events.push({
            type: 'rollback.restored',
            data: {
              ...ids(p),
              restored: done.filter((o) => o?.ok).length,
              failed: done.filter((o) => o && !o.ok).length,
              finished_at: command.now.toISOString(),
            },
          });
        }
      }
      return events;
    }
    default: {
      const never: never = command;
      throw new Error(`unknown command ${JSON.stringify(never)}`);
    }
  }
}
