import type { PlatformTables } from '@pep/db';
import type { ColumnType, Generated } from 'kysely';

export interface BridgeTables {
  /** Webhook deliveries seen (X-GitHub-Delivery), the dedupe of the ingress. */
  deliveries: { delivery_id: string; event: string; status: string; received_at: Generated<Date> };
  repo_insights: {
    repository_id: number;
    repository: string;
    commits: number;
    pushes: number;
    pull_requests: number;
    merged_pull_requests: number;
    releases: number;
    last_activity_at: string | null;
  };
  repo_pulls: {
    repository_id: number;
    number: number;
    opened_at: string;
    merged_at: string | null;
    closed_at: string | null;
    state: string;
  };
  repo_issues: { repository_id: number; number: number; open: boolean };
  /** `repositories` is jsonb: written as its JSON text, read back as the list. */
  installations: {
    installation_id: number;
    account: string;
    repositories: ColumnType<string[], string, string>;
    active: boolean;
    updated_at: string;
  };
}
export type BridgeDB = BridgeTables & PlatformTables;
