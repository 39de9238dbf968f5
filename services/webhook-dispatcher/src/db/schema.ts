import type { PlatformEvent, WebhookPayloadFormat } from '@pep/contracts';
import type { PlatformTables } from '@pep/db';
import type { Generated, JSONColumnType } from 'kysely';

/** Read model of webhook endpoints (projection of `webhook_endpoint.*`; can be dropped and rebuilt). */
export interface EndpointsTable {
  id: string;
  partner_id: string;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  rate_limit_per_s: number | null;
  timeout_ms: number;
  /** jsonb: read as an object, written as its JSON text. */
  headers: JSONColumnType<Record<string, string>>;
  payload_format: WebhookPayloadFormat;
  integration_id: string | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_expires_at: Date | null;
  deleted: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** Event bodies referenced by deliveries, keyed by stream sequence. */
export interface EventsTable {
  seq: number;
  id: string;
  type: string;
  partner_id: string | null;
  time: Date;
  traceparent: string | null;
  body: string;
}

export interface DeliveriesTable {
  id: string;
  endpoint_id: string;
  partner_id: string;
  event_seq: number;
  event_id: string;
  event_type: string;
  event_time: Date;
  /** '' for the normal delivery; the job id for a replay's copy. */
  replay_job_id: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  attempt_budget: number;
  next_attempt_at: Date | null;
  locked_until: Date | null;
  lease_token: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  succeeded_at: Date | null;
}

export interface AttemptsTable {
  id: Generated<number>;
  delivery_id: string;
  endpoint_id: string;
  attempt: number;
  started_at: Date;
  outcome: 'succeeded' | 'failed';
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error_class: string | null;
  /** The version of the integration mapping that shaped the body (null: unmapped). */
  mapping_version: number | null;
}

export interface EndpointHealthTable {
  endpoint_id: string;
  last_success_at: Date | null;
  failing_since: Date | null;
}

export interface JobsTable {
  id: string;
  kind: 'resend' | 'recover' | 'replay';
  endpoint_id: string;
  partner_id: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  /** jsonb: read as an object, written as its JSON text. */
  params: JSONColumnType<Record<string, unknown>>;
  total: number | null;
  processed: number;
  deliveries_created: number;
  deliveries_reused: number;
  cursor: string | null;
  error: string | null;
  locked_until: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  finished_at: Date | null;
}

/** `webhook.delivery.exhausted` events still to be published (one per delivery and attempt count). */
export interface OutboxTable {
  delivery_id: string;
  attempts: number;
  created_at: Generated<Date>;
}

/** Other events still to be published (rollups, integration errors): the whole event under its deterministic id. */
export interface EventOutboxTable {
  id: string;
  subject: string;
  /** jsonb: the PlatformEvent. */
  event: JSONColumnType<PlatformEvent>;
  /** Not published before (a rollup of a minute still running at shutdown waits for its end). */
  not_before: Generated<Date>;
  /** The replica whose unfinished minute this is (taken back when it starts again within the minute). */
  reporter: string | null;
  created_at: Generated<Date>;
}

/** The dispatcher's read model of integrations' mappings (`expression` null: removed). */
export interface IntegrationMappingsTable {
  integration_id: string;
  event_type: string;
  version: number;
  expression: string | null;
  seq: number;
}

/** Which partner each integration belongs to (an endpoint may name only its own partner's integration). */
export interface IntegrationOwnersTable {
  integration_id: string;
  partner_id: string;
  connected: boolean;
}

export interface DispatcherDB extends PlatformTables {
  webhook_endpoints: EndpointsTable;
  webhook_events: EventsTable;
  webhook_deliveries: DeliveriesTable;
  webhook_attempts: AttemptsTable;
  webhook_endpoint_health: EndpointHealthTable;
  webhook_jobs: JobsTable;
  webhook_outbox: OutboxTable;
  webhook_event_outbox: EventOutboxTable;
  integration_mappings: IntegrationMappingsTable;
  integration_owners: IntegrationOwnersTable;
}
