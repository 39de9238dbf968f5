import type { DataOf, PlannedAction, PlatformEvent, RollbackActionFailed, RollbackActionSucceeded, RollbackPlanned } from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

export type PlannedData = DataOf<typeof RollbackPlanned>;
export type ActionSucceededData = DataOf<typeof RollbackActionSucceeded>;
export type ActionFailedData = DataOf<typeof RollbackActionFailed>;
export type Phase = 'rollback' | 'restore';

export interface TerminalData {
  incident_id: string;
  partner_id: string;
  customer_id: string;
  succeeded: number;
  failed: number;
  dry_run: boolean;
  actions: { action_id: string; kind: PlannedAction['kind']; status: 'succeeded' | 'failed' | 'skipped'; detail: string }[];
  finished_at: string;
}

export type RunEvent =
  | { type: 'rollback.planned'; data: PlannedData }
  | {
      type: 'rollback.approved';
      data: { incident_id: string; partner_id: string; customer_id: string; approved_by: string; approved_at: string };
    }
  | { type: 'rollback.action_succeeded'; data: ActionSucceededData }
  | { type: 'rollback.action_failed'; data: ActionFailedData }
  | { type: 'rollback.completed' | 'rollback.partially_failed' | 'rollback.failed'; data: TerminalData }
  | {
      type: 'rollback.restored';
      data: { incident_id: string; partner_id: string; customer_id: string; restored: number; failed: number; finished_at: string };
    };

export type Outcome =
  | ({ ok: true } & Omit<ActionSucceededData, 'incident_id' | 'partner_id' | 'customer_id'>)
  | ({ ok: false } & Omit<ActionFailedData, 'incident_id' | 'partner_id' | 'customer_id'>);

export interface RunState {
  planned: PlannedData | null;
  approved: boolean;
  /** Outcomes by `<phase>:<action_id>`. */
  outcomes: Map<string, Outcome>;
  terminal: RunEvent['type'] | null;
  restored: boolean;
}

export const isRunEvent = eventsOfTypes<RunEvent>([
  'rollback.planned',
  'rollback.approved',
  'rollback.action_succeeded',
  'rollback.action_failed',
  'rollback.completed',
  'rollback.partially_failed',
  'rollback.failed',
  'rollback.restored',
]);

export const RUN_AGGREGATE = 'rollback';

export const initialRun = (): RunState => ({ planned: null, approved: false, outcomes: new Map(), terminal: null, restored: false });

export const outcomeKey = (phase: Phase, actionId: string) => `${phase}:${actionId}`;

export function evolveRun(state: RunState, event: PlatformEvent): RunState {
  if (!isRunEvent(event)) return state;
  switch (event.type) {
    case 'rollback.planned':
      return { ...state, planned: event.data };
    case 'rollback.approved':
      return { ...state, approved: true };
    case 'rollback.action_succeeded': {
      const { incident_id: _i, partner_id: _p, customer_id: _c, ...rest } = event.data;
      return { ...state, outcomes: new Map(state.outcomes).set(outcomeKey(rest.phase, rest.action_id), { ok: true, ...rest }) };
    }
    case 'rollback.action_failed': {
      const { incident_id: _i, partner_id: _p, customer_id: _c, ...rest } = event.data;
      return { ...state, outcomes: new Map(state.outcomes).set(outcomeKey(rest.phase, rest.action_id), { ok: false, ...rest }) };
    }
    case 'rollback.completed':
    case 'rollback.partially_failed':
    case 'rollback.failed':
      return { ...state, terminal: event.type };
    case 'rollback.restored':
      return { ...state, restored: true };
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** Whether the run's actions may execute now (auto mode, or approved). */
export function isExecutable(state: RunState): boolean {
  const p = state.planned;
  if (!p || state.terminal) return false;
  return p.status === 'executing' || (p.status === 'awaiting_approval' && state.approved);
}

/** Flag actions that took effect and are turned back on when the incident resolves. */
export function restorableActions(state: RunState): PlannedAction[] {
  const p = state.planned;
  if (!p) return [];
  return p.actions.filter((a) => a.kind === 'flag_off' && state.outcomes.get(outcomeKey('rollback', a.action_id))?.ok === true);
}
