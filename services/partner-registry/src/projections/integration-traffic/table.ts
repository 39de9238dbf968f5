import type { Jsonb } from '@pep/db';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const INTEGRATION_TRAFFIC_PROJECTION = 'integration-traffic';

/** Per integration and hour: webhook attempts (from the dispatcher's rollups) and API requests (from the gateway's). */
export interface IntegrationMetricsHourlyTable {
  integration_id: string;
  hour: Date;
  partner_id: string;
  webhook_attempts: string | number;
  webhook_succeeded: string | number;
  api_requests: string | number;
  api_errors: string | number;
  /** Failed webhook attempts by class. */
  by_class: Jsonb<Record<string, number>>;
  /** Non-cumulative counts per DELIVERY_LATENCY_BUCKETS_MS bucket (the last one above the largest bound). */
  latency_buckets: Jsonb<number[]>;
  latency_sum: string | number;
}

/** Per integration and minute (kept for a day): what the traffic side of health reads. */
export interface IntegrationTrafficMinutesTable {
  integration_id: string;
  minute: Date;
  attempts: string | number;
  succeeded: string | number;
}

export interface IntegrationErrorsTable {
  id: string;
  integration_id: string;
  partner_id: string;
  class: string;
  event_id: string;
  event_type: string;
  delivery_id: string;
  endpoint_id: string;
  attempt: number | null;
  status_code: number | null;
  message: string | null;
  excerpt: string | null;
  mapping_version: number | null;
  occurred_at: Date;
}

/** Which application and partner an integration belongs to (to credit API requests by the application's clients). */
export interface IntegrationTrafficAppsTable {
  integration_id: string;
  partner_id: string;
  application_id: string;
  connected: boolean;
}

/** The application of each OAuth client (its requests count for the application's integration). */
export interface IntegrationTrafficClientsTable {
  client_id: string;
  application_id: string;
}

export interface IntegrationTrafficTables {
  integration_metrics_hourly: IntegrationMetricsHourlyTable;
  integration_traffic_minutes: IntegrationTrafficMinutesTable;
  integration_errors: IntegrationErrorsTable;
  integration_traffic_apps: IntegrationTrafficAppsTable;
  integration_traffic_clients: IntegrationTrafficClientsTable;
}
