import type { IncidentReport, PlannedAction } from '@pep/contracts';
import { IllegalTransitionError, NotFoundError, startEarly } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { OrchestratorDB } from '../db/schema.ts';
import { decideIncident } from '../domain/incident/decide.ts';
import { AGGREGATE, evolveIncident, type IncidentOpenedData, type IncidentState, initialIncident } from '../domain/incident/incident.ts';
import { incidentKey } from '../domain/keys.ts';
import { decideRun } from '../domain/rollback-run/decide.ts';
import { planRollback } from '../domain/rollback-run/plan.ts';
import type { StoredPolicy } from '../domain/rollback-policy/rollback-policy.ts';
import type { PlannedData, RunState } from '../domain/rollback-run/rollback-run.ts';
import { INCIDENTS_PROJECTION } from '../projections/incidents/index.ts';
import { policyForCustomer } from '../projections/policies/index.ts';
import { flagChangesSince } from '../projections/flag-changes/index.ts';
import { mergesSince } from '../projections/github-merges/index.ts';
import { takeCooldown } from './action-claims.ts';
import type { AggregateKind, Aggregates } from './aggregates.ts';
import { runAggregate } from './executor.ts';

export const incidentAggregate: AggregateKind<IncidentState> = { kind: AGGREGATE, initial: initialIncident, evolve: evolveIncident };

export interface Accepted {
  incident_id: string;
  object: 'incident_acceptance';
  duplicate: boolean;
  status: PlannedData['status'] | 'completed' | 'partially_failed' | 'failed';
  mode: PlannedData['mode'] | null;
  policy_id: string | null;
  skipped_reason: string | null;
  actions: PlannedAction[];
}

function acceptedView(incidentId: string, run: RunState, duplicate: boolean): Accepted {
  const p = run.planned as PlannedData;
  const terminal = run.terminal ? (run.terminal.slice('rollback.'.length) as Accepted['status']) : null;
  const status = p.status === 'dry_run' || p.status === 'skipped' ? p.status : (terminal ?? (run.approved ? 'executing' : p.status));
  return {
    incident_id: incidentId,
    object: 'incident_acceptance',
    duplicate,
    status,
    mode: p.mode,
    policy_id: p.policy_id,
    skipped_reason: p.skipped_reason,
    actions: p.actions,
  };
}

/** Incident use cases: intake (open + plan), resolve, approve. Shared by the HTTP handlers and the stream intake. */
export function createIncidentUseCases(deps: {
  db: Kysely<OrchestratorDB>;
  aggregates: Aggregates;
  actionTimeoutMs: number;
  /** Called when a run was just planned to execute: the fast path (the runs worker remains the safety net). */
  onExecutable?: (key: string, plan: PlannedData, policy: StoredPolicy) => void;
  now?: () => Date;
}) {
  const now = deps.now ?? (() => new Date());

  /** What planning reads (policy, recent merges and flag changes); fetched while the incident is appended. */
  async function planInputs(partnerId: string, customerId: string, detectedAt: string) {
    const row = await policyForCustomer(deps.db, partnerId, customerId);
    const policy = row?.policy ?? null;
    const detected = Date.parse(detectedAt);
    const prHours = policy?.candidates.pull_requests_merged_within_hours ?? 0;
    const flagHours = policy?.candidates.flags_changed_within_hours ?? 0;
    const repos = policy ? [...new Set(policy.journeys.flatMap((j) => j.repositories.map((r) => r.repository)))] : [];
    const [recentMerges, recentFlagChanges] = await Promise.all([
      prHours > 0 ? mergesSince(deps.db, repos, new Date(detected - prHours * 3_600_000).toISOString()) : Promise.resolve([]),
      policy && flagHours > 0
        ? flagChangesSince(deps.db, partnerId, customerId, new Date(detected - flagHours * 3_600_000).toISOString())
        : Promise.resolve([]),
    ]);
    return { policy, recentMerges, recentFlagChanges };
  }

  async function plan(
    opened: IncidentOpenedData,
    key: string,
    meta: { partnerId: string; correlationId: string; traceparent?: string },
    inputs: Awaited<ReturnType<typeof planInputs>>,
  ) {
    const { policy } = inputs;
    const input = { incident: opened, ...inputs, cooldown: null, now: now(), actionTimeoutMs: deps.actionTimeoutMs };
    let planned = planRollback(input);
    if (policy && (planned.status === 'executing' || planned.status === 'awaiting_approval')) {
      const cd = await takeCooldown(deps.db, opened.partner_id, opened.customer_id, opened.incident_id, policy.cooldown_minutes);
      if (!cd.taken) planned = planRollback({ ...input, cooldown: { incidentId: cd.incidentId, until: cd.until } });
    }
    const r = await deps.aggregates.execute(
      runAggregate,
      key,
      meta,
      (s) => decideRun({ type: 'PlanRollback', plan: planned }, s),
      undefined,
      true,
    );
    if (r.events.length > 0 && policy && planned.status === 'executing') deps.onExecutable?.(key, planned, policy);
    return r.state;
  }

  return {
    /**
     * Opens the incident (idempotent on its id per partner) and plans its rollback. A redelivered incident
     * whose plan is missing (the process died in between) is planned now; one already planned answers the
     * existing plan with `duplicate: true`.
     */
    async open(input: {
      partnerId: string;
      report: IncidentReport;
      source: 'api' | 'event';
      traceparent?: string;
      causationId?: string;
    }): Promise<Accepted> {
      const key = incidentKey(input.partnerId, input.report.incident_id);
      const meta = {
        partnerId: input.partnerId,
        correlationId: key,
        ...(input.traceparent ? { traceparent: input.traceparent } : {}),
        ...(input.causationId ? { causationId: input.causationId } : {}),
      };
      // Read while the incident is appended; used when the plan is made from this report.
      const inputs = startEarly(planInputs(input.partnerId, input.report.customer_id, input.report.detected_at));
      const opened = await deps.aggregates.execute(
        incidentAggregate,
        key,
        meta,
        (s) =>
          decideIncident({ type: 'OpenIncident', partnerId: input.partnerId, report: input.report, source: input.source, now: now() }, s),
        undefined,
        true,
      );
      const incident = opened.state.opened as IncidentOpenedData;
      // A new incident has no run yet; a known one may (or may not, when the process died before planning).
      const existing = opened.events.length > 0 ? null : await deps.aggregates.load(runAggregate, key);
      const run = existing?.state.planned
        ? existing.state
        : await plan(
            incident,
            key,
            meta,
            incident.customer_id === input.report.customer_id && incident.detected_at === input.report.detected_at
              ? await inputs.result()
              : await planInputs(incident.partner_id, incident.customer_id, incident.detected_at),
          );
      return acceptedView(incident.incident_id, run, existing?.state.planned != null);
    },

    async resolve(input: {
      partnerId: string;
      incidentId: string;
      resolvedAt?: string;
      reason?: string;
      resolvedBy: string;
      traceparent?: string;
    }) {
      const key = incidentKey(input.partnerId, input.incidentId);
      const r = await deps.aggregates.execute(
        incidentAggregate,
        key,
        { partnerId: input.partnerId, correlationId: key, ...(input.traceparent ? { traceparent: input.traceparent } : {}) },
        (s) =>
          decideIncident(
            {
              type: 'ResolveIncident',
              partnerId: input.partnerId,
              incidentId: input.incidentId,
              resolvedAt: input.resolvedAt,
              resolvedBy: input.resolvedBy,
              reason: input.reason,
              now: now(),
            },
            s,
          ),
        INCIDENTS_PROJECTION,
      );
      return { incident_id: input.incidentId, status: 'resolved' as const, duplicate: r.events.length === 0 };
    },

    async approve(input: { partnerId: string; incidentId: string; approvedBy: string }): Promise<Accepted> {
      const key = incidentKey(input.partnerId, input.incidentId);
      const inc = await deps.aggregates.load(incidentAggregate, key);
      if (inc.state.status === 'none') throw new NotFoundError(`incident ${input.incidentId} not found`);
      if (inc.state.status === 'resolved') throw new IllegalTransitionError(`incident ${input.incidentId} is resolved; nothing to approve`);
      const r = await deps.aggregates.execute(runAggregate, key, { partnerId: input.partnerId, correlationId: key }, (s) =>
        decideRun({ type: 'ApproveRollback', approvedBy: input.approvedBy, now: now() }, s),
      );
      return acceptedView(input.incidentId, r.state, r.events.length === 0);
    },
  };
}
export type IncidentUseCases = ReturnType<typeof createIncidentUseCases>;
