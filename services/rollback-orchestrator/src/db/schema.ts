import type { PlatformTables } from '@pep/db';
import type { ColumnType, Generated } from 'kysely';
import type { IncidentOpenedData } from '../domain/incident/incident.ts';

/** A jsonb column: written as its JSON text, read back parsed. */
type Jsonb<T> = ColumnType<T, string, string>;

/** Read models (rebuilt from the stream) and the orchestrator's operational tables (claims, cooldowns, notifications). */
export interface OrchestratorTables {
  incidents: {
    key: string;
    partner_id: string;
    incident_id: string;
    customer_id: string;
    status: string;
    severity: string;
    journey: Jsonb<IncidentOpenedData['journey']>;
    evidence: Jsonb<IncidentOpenedData['evidence']>;
    suspects: Jsonb<IncidentOpenedData['suspects']>;
    source: string;
    detected_at: string;
    opened_at: string;
    resolved_at: string | null;
    seq: number;
  };
  runs: {
    key: string;
    partner_id: string;
    incident_id: string;
    customer_id: string;
    policy_id: string | null;
    mode: string;
    status: string;
    skipped_reason: string | null;
    dropped: unknown;
    planned_at: string;
    finished_at: string | null;
    restored_at: string | null;
    seq: number;
  };
  run_actions: {
    key: string;
    action_id: string;
    phase: string;
    ordinal: number;
    kind: string;
    planned: unknown;
    status: string;
    attempts: number;
    detail: string | null;
    result: unknown;
    finished_at: string | null;
  };
  timeline: {
    seq: number;
    key: string;
    at: string;
    type: string;
    actor: string;
    summary: string;
    details: unknown;
  };
  policies: {
    policy_id: string;
    partner_id: string;
    customer_id: string;
    data: unknown;
    version: number;
    created_at: string;
    updated_at: string;
  };
  github_merges: {
    repository: string;
    number: number;
    base: string;
    merged_at: string;
    title: string;
    url: string;
  };
  flag_changes: {
    seq: number;
    partner_id: string;
    customer_id: string;
    flag_key: string;
    changed_at: string;
  };
  action_claims: {
    key: string;
    action_id: string;
    phase: string;
    status: string;
    owner: string;
    lease_until: Date;
    attempts: number;
    outcome: unknown;
    created_at: Generated<Date>;
    updated_at: Generated<Date>;
  };
  customer_cooldowns: {
    partner_id: string;
    customer_id: string;
    incident_id: string;
    until: Date;
  };
  notifications_sent: {
    event_id: string;
    kind: string;
    sent_at: Generated<Date>;
  };
}

export type OrchestratorDB = OrchestratorTables & PlatformTables;
