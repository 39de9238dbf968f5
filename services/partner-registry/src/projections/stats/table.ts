/** The name and table of the statistics read model (a leaf: the service's DB type imports it). */
export const STATS_PROJECTION = 'stats';

/**
 * One figure per partner, UTC day, metric and dimension (an event type, or '' when the metric has none):
 * `events` by type, `api_requests`/`api_errors`, `delivery_attempts`/`deliveries_succeeded`/`deliveries_failed`,
 * the same three per event type as `type_attempts`/`type_succeeded`/`type_failed`, `incidents`, `rollbacks`.
 */
export interface StatsDailyTable {
  partner_id: string;
  day: string;
  metric: string;
  dim: string;
  value: string | number;
}

export interface StatsTables {
  stats_daily: StatsDailyTable;
}
