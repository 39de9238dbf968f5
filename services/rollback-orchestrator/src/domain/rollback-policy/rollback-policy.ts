import type { PlatformEvent } from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

/** A flag provider as stored: `token` holds the sealed secret (`enc:v1:...`), never the plain one. */
export type StoredProvider =
  | { id: string; kind: 'partner_webhook'; base_url: string; token: string }
  | { id: string; kind: 'launchdarkly'; base_url: string; token: string; project_key: string; environment_key: string }
  | { id: string; kind: 'unleash'; base_url: string; token: string; project: string; environment: string };

export interface StoredRule {
  funnel: string;
  step?: string;
  repositories: { repository: string; branch: string }[];
  flags: { provider_id: string; flag_key: string }[];
  /** `secret` is sealed. */
  webhooks: { url: string; secret: string }[];
}

export interface StoredPolicy {
  policy_id: string;
  partner_id: string;
  customer_id: string;
  name: string | null;
  mode: 'auto' | 'approval' | 'dry_run';
  cooldown_minutes: number;
  max_actions: number;
  candidates: { pull_requests_merged_within_hours: number; flags_changed_within_hours: number; include_suspects: boolean };
  restore_flags_on_resolve: boolean;
  notify_emails: string[];
  providers: StoredProvider[];
  journeys: StoredRule[];
}

export type PolicyEvent =
  | { type: 'rollback.policy_created'; data: StoredPolicy }
  | { type: 'rollback.policy_updated'; data: StoredPolicy }
  | { type: 'rollback.policy_deleted'; data: { policy_id: string; partner_id: string; customer_id: string } };

export interface PolicyState {
  exists: boolean;
  policy: StoredPolicy | null;
}

export const isPolicyEvent = eventsOfTypes<PolicyEvent>(['rollback.policy_created', 'rollback.policy_updated', 'rollback.policy_deleted']);

export const POLICY_AGGREGATE = 'rollback_policy';
export const initialPolicy = (): PolicyState => ({ exists: false, policy: null });

export function evolvePolicy(state: PolicyState, event: PlatformEvent): PolicyState {
  if (!isPolicyEvent(event)) return state;
  switch (event.type) {
    case 'rollback.policy_created':
    case 'rollback.policy_updated':
      return { exists: true, policy: event.data };
    case 'rollback.policy_deleted':
      return { exists: false, policy: null };
    default: {
      const never: never = event;
      return never;
    }
  }
}
