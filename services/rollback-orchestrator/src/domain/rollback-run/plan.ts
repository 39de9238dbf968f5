import type { PlannedAction } from '@pep/contracts';
import { actionIdFor } from '../keys.ts';
import type { StoredPolicy, StoredRule } from '../rollback-policy/rollback-policy.ts';
import type { PlannedData } from './rollback-run.ts';

export interface PlanInput {
  incident: {
    incident_id: string;
    partner_id: string;
    customer_id: string;
    journey: { funnel: string; step: string };
    suspects: { pull_requests: string[]; flags: string[] };
    detected_at: string;
  };
  policy: StoredPolicy | null;
  /** Merged pull requests of the policy's repositories (any time; the window is applied here). */
  recentMerges: { repository: string; number: number; base: string; merged_at: string }[];
  recentFlagChanges: { flag_key: string; changed_at: string }[];
  /** Set when another incident of the customer holds the cooldown. */
  cooldown: { incidentId: string; until: string } | null;
  now: Date;
  actionTimeoutMs: number;
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function matchingRules(policy: StoredPolicy, journey: { funnel: string; step: string }): StoredRule[] {
  const rules = policy.journeys.filter((r) => eq(r.funnel, journey.funnel) && (!r.step || eq(r.step, journey.step)));
  // Step-specific rules first: they are the more precise mapping.
  return rules.sort((a, b) => Number(Boolean(b.step)) - Number(Boolean(a.step)));
}

export function parsePullRequestUrl(url: string): { repository: string; number: number } | null {
  const m = /^https:\/\/github\.com\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/pull\/(\d+)$/.exec(url);
  return m ? { repository: m[1] as string, number: Number(m[2]) } : null;
}

/**
 * Plans the rollback of an incident from the customer's policy (pure: everything it needs comes in).
 * Candidates, in priority order: suspected flags, suspected pull requests, flags changed within the
 * window, pull requests merged into the watched branch within the window (newest first), then the
 * journey's custom webhooks. The first `max_actions` are kept (the blast radius); the rest are dropped.
 */
export function planRollback(input: PlanInput): PlannedData {
  const { incident, policy, now } = input;
  const base = {
    incident_id: incident.incident_id,
    partner_id: incident.partner_id,
    customer_id: incident.customer_id,
    action_timeout_ms: input.actionTimeoutMs,
    planned_at: now.toISOString(),
  };
  if (!policy) {
    return { ...base, policy_id: null, mode: 'auto', status: 'skipped', skipped_reason: 'no_policy', actions: [], dropped: [] };
  }
  const detected = Date.parse(incident.detected_at);
  const within = (at: string, hours: number) => {
    const t = Date.parse(at);
    return hours > 0 && t <= detected && t >= detected - hours * 3_600_000;
  };
  const rules = matchingRules(policy, incident.journey);
  const providers = new Map(policy.providers.map((p) => [p.id, p]));
  const c = policy.candidates;
  const suspectFlags = new Set(c.include_suspects ? incident.suspects.flags.map((f) => f.toLowerCase()) : []);
  const suspectPrs = c.include_suspects ? incident.suspects.pull_requests.map(parsePullRequestUrl).filter((x) => x !== null) : [];
  const changed = new Set(
    input.recentFlagChanges.filter((f) => within(f.changed_at, c.flags_changed_within_hours)).map((f) => f.flag_key.toLowerCase()),
  );

  const out: PlannedAction[] = [];
  const seen = new Set<string>();
  const add = (a: Omit<PlannedAction, 'action_id'>, target: string) => {
    const action_id = actionIdFor(a.kind, target);
    if (seen.has(action_id)) return;
    seen.add(action_id);
    out.push({ action_id, ...a });
  };
  const flagAction = (f: { provider_id: string; flag_key: string }, reason: 'suspect' | 'recent_change') =>
    add(
      {
        kind: 'flag_off',
        reason,
        provider_id: f.provider_id,
        provider_kind: providers.get(f.provider_id)?.kind ?? 'unknown',
        flag_key: f.flag_key,
      },
      `${f.provider_id}/${f.flag_key}`,
    );
  const prAction = (repository: string, branch: string, number: number, reason: 'suspect' | 'recent_change') =>
    add({ kind: 'revert_pr', reason, repository, branch, pull_number: number }, `${repository.toLowerCase()}#${number}`);

  const flags = rules.flatMap((r) => r.flags);
  const repos = rules.flatMap((r) => r.repositories);
  for (const f of flags) if (suspectFlags.has(f.flag_key.toLowerCase())) flagAction(f, 'suspect');
  for (const s of suspectPrs) {
    const repo = repos.find((r) => eq(r.repository, s.repository));
    if (repo) prAction(repo.repository, repo.branch, s.number, 'suspect');
  }
  for (const f of flags) if (changed.has(f.flag_key.toLowerCase())) flagAction(f, 'recent_change');
  const merges = input.recentMerges
    .filter((m) => within(m.merged_at, c.pull_requests_merged_within_hours))
    .sort((a, b) => Date.parse(b.merged_at) - Date.parse(a.merged_at));
  for (const m of merges) {
    const repo = repos.find((r) => eq(r.repository, m.repository) && r.branch === m.base);
    if (repo) prAction(repo.repository, repo.branch, m.number, 'recent_change');
  }
  for (const r of rules) for (const w of r.webhooks) add({ kind: 'webhook', reason: 'journey_webhook', url: w.url }, w.url);

  const actions = out.slice(0, policy.max_actions);
  const dropped = out.slice(policy.max_actions);
  const planned = { ...base, policy_id: policy.policy_id, mode: policy.mode, actions, dropped };
  if (actions.length === 0)
    return { ...planned, status: 'skipped', skipped_reason: rules.length ? 'no_candidates' : 'no_matching_journey' };
  if (policy.mode === 'dry_run') return { ...planned, status: 'dry_run', skipped_reason: null };
  if (input.cooldown) {
    return {
      ...planned,
      status: 'skipped',
      skipped_reason: `cooldown: incident ${input.cooldown.incidentId} acted until ${input.cooldown.until}`,
    };
  }
  return { ...planned, status: policy.mode === 'approval' ? 'awaiting_approval' : 'executing', skipped_reason: null };
}
