import { describe, expect, it } from 'vitest';
import { decideIncident } from '../src/domain/incident/decide.ts';
import { evolveIncident, initialIncident } from '../src/domain/incident/incident.ts';
import { decideRun } from '../src/domain/rollback-run/decide.ts';
import { planRollback, type PlanInput } from '../src/domain/rollback-run/plan.ts';
import { evolveRun, initialRun, type RunState } from '../src/domain/rollback-run/rollback-run.ts';
import { policy } from './support/policy.ts';

const now = new Date('2026-03-01T12:00:00.000Z');
const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  incident: {
    incident_id: 'inc-1',
    partner_id: 'prt_1',
    customer_id: 'cus_1',
    journey: { funnel: 'checkout', step: 'payment' },
    suspects: { pull_requests: [], flags: [] },
    detected_at: '2026-03-01T11:59:00.000Z',
  },
  policy: policy(),
  recentMerges: [],
  recentFlagChanges: [],
  cooldown: null,
  now,
  actionTimeoutMs: 15_000,
  ...over,
});

describe('planning a rollback (given policy and recent changes, when an incident comes in, then these actions)', () => {
  it('takes suspects first, then recent flag changes, then recent merges (newest first), then the journey webhook', () => {
    const plan = planRollback(
      input({
        incident: { ...input().incident, suspects: { pull_requests: ['https://github.com/acme/shop/pull/7'], flags: ['fast-pay'] } },
        recentFlagChanges: [{ flag_key: 'new-checkout', changed_at: '2026-03-01T10:00:00Z' }],
        recentMerges: [
          { repository: 'acme/shop', number: 3, base: 'main', merged_at: '2026-03-01T08:00:00Z' },
          { repository: 'acme/shop', number: 4, base: 'main', merged_at: '2026-03-01T09:00:00Z' },
        ],
      }),
    );
    expect(plan.status).toBe('executing');
    expect(plan.actions.map((a) => [a.kind, a.reason, a.flag_key ?? a.pull_number ?? a.url])).toEqual([
      ['flag_off', 'suspect', 'fast-pay'],
      ['revert_pr', 'suspect', 7],
      ['flag_off', 'recent_change', 'new-checkout'],
      ['revert_pr', 'recent_change', 4],
      ['revert_pr', 'recent_change', 3],
    ]);
    expect(plan.dropped.map((a) => a.kind)).toEqual(['webhook']);
  });

  it('ignores changes outside the windows, on other branches, and suspects outside the mapped repositories', () => {
    const plan = planRollback(
      input({
        incident: { ...input().incident, suspects: { pull_requests: ['https://github.com/other/repo/pull/1'], flags: ['unmapped'] } },
        recentFlagChanges: [{ flag_key: 'new-checkout', changed_at: '2026-02-27T10:00:00Z' }],
        recentMerges: [
          { repository: 'acme/shop', number: 9, base: 'develop', merged_at: '2026-03-01T11:00:00Z' },
          { repository: 'acme/shop', number: 8, base: 'main', merged_at: '2026-03-01T11:59:30Z' },
        ],
      }),
    );
    expect(plan.actions.map((a) => a.kind)).toEqual(['webhook']);
  });

  it('keeps at most max_actions (blast radius) and drops the rest', () => {
    const plan = planRollback(
      input({
        policy: policy({ max_actions: 2 }),
        incident: { ...input().incident, suspects: { pull_requests: [], flags: ['new-checkout', 'fast-pay', 'promo-banner'] } },
      }),
    );
    expect(plan.actions).toHaveLength(2);
    expect(plan.dropped.map((a) => a.flag_key ?? a.url)).toEqual(['promo-banner', 'https://hooks.example.com/rollback']);
  });

  it('uses stable action ids, so a re-planned incident names the same actions', () => {
    const a = planRollback(input({ incident: { ...input().incident, suspects: { pull_requests: [], flags: ['fast-pay'] } } }));
    const b = planRollback(input({ incident: { ...input().incident, suspects: { pull_requests: [], flags: ['fast-pay'] } } }));
    expect(a.actions.map((x) => x.action_id)).toEqual(b.actions.map((x) => x.action_id));
  });

  it('answers the modes: dry_run plans only, approval waits, cooldown and no policy skip', () => {
    const suspects = { pull_requests: [], flags: ['fast-pay'] };
    const i = { ...input().incident, suspects };
    expect(planRollback(input({ incident: i, policy: policy({ mode: 'dry_run' }) })).status).toBe('dry_run');
    expect(planRollback(input({ incident: i, policy: policy({ mode: 'approval' }) })).status).toBe('awaiting_approval');
    const cooled = planRollback(input({ incident: i, cooldown: { incidentId: 'inc-0', until: '2026-03-01T12:20:00Z' } }));
    expect(cooled.status).toBe('skipped');
    expect(cooled.skipped_reason).toContain('cooldown: incident inc-0');
    expect(planRollback(input({ incident: i, policy: null })).skipped_reason).toBe('no_policy');
    expect(planRollback(input({ incident: { ...i, journey: { funnel: 'search', step: 'x' } } })).skipped_reason).toBe(
      'no_matching_journey',
    );
  });
});

describe('rollback run decider', () => {
  const planned = planRollback(
    input({
      incident: { ...input().incident, suspects: { pull_requests: [], flags: ['fast-pay', 'new-checkout'] } },
      policy: policy({ max_actions: 2 }),
    }),
  );
  const fold = (events: { type: string; data: unknown }[], s: RunState = initialRun()) =>
    events.reduce(
      (st, e) =>
        evolveRun(st, { ...e, id: 'e', source: 's', specversion: '1.0', time: '', datacontenttype: 'application/json', schemaversion: 1 }),
      s,
    );
  const outcome = (action_id: string, ok: boolean) =>
    ok
      ? {
          ok: true as const,
          action_id,
          kind: 'flag_off' as const,
          phase: 'rollback' as const,
          attempts: 1,
          duration_ms: 3,
          request: '',
          response: '200',
          result: {},
          at: now.toISOString(),
        }
      : {
          ok: false as const,
          action_id,
          kind: 'flag_off' as const,
          phase: 'rollback' as const,
          attempts: 3,
          duration_ms: 3,
          request: '',
          response: '503',
          error: 'boom',
          at: now.toISOString(),
        };

  it('plans once: a second plan of the same incident emits nothing', () => {
    const first = decideRun({ type: 'PlanRollback', plan: planned }, initialRun());
    expect(first.map((e) => e.type)).toEqual(['rollback.planned']);
    expect(decideRun({ type: 'PlanRollback', plan: planned }, fold(first))).toEqual([]);
  });

  it('closes with completed, partially_failed or failed once every action has an outcome, and records an outcome once', () => {
    const s = fold(decideRun({ type: 'PlanRollback', plan: planned }, initialRun()));
    const [a, b] = planned.actions.map((x) => x.action_id) as [string, string];
    const partial = decideRun({ type: 'RecordOutcomes', phase: 'rollback', outcomes: [outcome(a, true)], now }, s);
    expect(partial.map((e) => e.type)).toEqual(['rollback.action_succeeded']);
    const s2 = fold(partial, s);
    const rest = decideRun({ type: 'RecordOutcomes', phase: 'rollback', outcomes: [outcome(a, true), outcome(b, false)], now }, s2);
    expect(rest.map((e) => e.type)).toEqual(['rollback.action_failed', 'rollback.partially_failed']);
    expect(decideRun({ type: 'RecordOutcomes', phase: 'rollback', outcomes: [outcome(b, false)], now }, fold(rest, s2))).toEqual([]);
    expect(
      decideRun({ type: 'RecordOutcomes', phase: 'rollback', outcomes: [outcome(a, false), outcome(b, false)], now }, s).at(-1)?.type,
    ).toBe('rollback.failed');
  });

  it('refuses to approve a run that does not wait for approval', () => {
    const s = fold(decideRun({ type: 'PlanRollback', plan: planned }, initialRun()));
    expect(() => decideRun({ type: 'ApproveRollback', approvedBy: 'key_1', now }, s)).toThrow(/only a run awaiting approval/);
  });

  it('closes a dry run at planning with skipped actions', () => {
    const dry = planRollback(
      input({
        policy: policy({ mode: 'dry_run' }),
        incident: { ...input().incident, suspects: { pull_requests: [], flags: ['fast-pay'] } },
      }),
    );
    const events = decideRun({ type: 'PlanRollback', plan: dry }, initialRun());
    expect(events.map((e) => e.type)).toEqual(['rollback.planned', 'rollback.completed']);
    expect((events[1]!.data as { dry_run: boolean; actions: { status: string }[] }).dry_run).toBe(true);
  });
});

describe('incident decider', () => {
  const report = {
    incident_id: 'inc-1',
    customer_id: 'cus_1',
    journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.example.com/pay' },
    severity: 'critical' as const,
    detected_at: '2026-03-01T11:59:00Z',
    evidence: {},
    suspects: { pull_requests: [], flags: [] },
  };
  it('opens once, resolves once, and cannot resolve an unknown incident', () => {
    const opened = decideIncident({ type: 'OpenIncident', partnerId: 'prt_1', report, source: 'api', now }, initialIncident());
    expect(opened.map((e) => e.type)).toEqual(['incident.opened']);
    const s = evolveIncident(initialIncident(), {
      ...opened[0]!,
      id: 'e',
      source: 's',
      specversion: '1.0',
      time: '',
      datacontenttype: 'application/json',
      schemaversion: 1,
    });
    expect(decideIncident({ type: 'OpenIncident', partnerId: 'prt_1', report, source: 'event', now }, s)).toEqual([]);
    const resolve = {
      type: 'ResolveIncident' as const,
      partnerId: 'prt_1',
      incidentId: 'inc-1',
      resolvedAt: undefined,
      resolvedBy: 'key_1',
      reason: 'fixed',
      now,
    };
    expect(decideIncident(resolve, s).map((e) => e.type)).toEqual(['incident.resolved']);
    expect(() => decideIncident(resolve, initialIncident())).toThrow(/not found/);
  });
});
