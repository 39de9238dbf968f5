import type {
  DataOf,
  Integration,
  IntegrationConnected,
  IntegrationDisconnected,
  IntegrationFailed,
  IntegrationHealthChecked,
  IntegrationMapping,
  IntegrationMappingRemoved,
  IntegrationMappingSet,
  PlatformEvent,
} from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

/** How many distinct recent errors an integration keeps. */
export const RECENT_ERRORS = 10;

/** The integration aggregate is the integration as the API shows it (health, metrics, recent errors). */
export type IntegrationState = Integration & {
  latency_total_ms: number;
  /**
   * Field mappings by event type (or wildcard). A removed mapping stays as `expression: null` so the next save
   * continues its version count. Absent in documents written before mappings existed.
   */
  mappings?: Record<string, MappingEntry>;
};

export interface MappingEntry {
  version: number;
  expression: string | null;
  updated_at: string;
}

export type IntegrationEvent =
  | { type: 'integration.connected'; data: DataOf<typeof IntegrationConnected> }
  | { type: 'integration.disconnected'; data: DataOf<typeof IntegrationDisconnected> }
  | { type: 'integration.failed'; data: DataOf<typeof IntegrationFailed> }
  | { type: 'integration.health_checked'; data: DataOf<typeof IntegrationHealthChecked> }
  | { type: 'integration.mapping_set'; data: DataOf<typeof IntegrationMappingSet> }
  | { type: 'integration.mapping_removed'; data: DataOf<typeof IntegrationMappingRemoved> };

/** The events of this aggregate (a type guard: an evolve narrows to its own union instead of casting). */
export const isIntegrationEvent = eventsOfTypes<IntegrationEvent>([
  'integration.connected',
  'integration.disconnected',
  'integration.failed',
  'integration.health_checked',
  'integration.mapping_set',
  'integration.mapping_removed',
]);

export const initialIntegration = (): IntegrationState | undefined => undefined;

/** Folds one stored event; the tenant comes from the envelope's `partnerid`. */
export function evolveIntegration(
  state: IntegrationState | undefined,
  event: PlatformEvent & { seq?: number },
): IntegrationState | undefined {
  if (!isIntegrationEvent(event)) return state;
  const e = event;
  const version = event.seq ?? state?.version ?? 0;
  if (e.type === 'integration.connected') {
    if (state) return { ...state, version }; // a recovery after a failure (health came back)
    return {
      id: e.data.integration_id,
      object: 'integration',
      partner_id: event.partnerid ?? '',
      application_id: e.data.application_id ?? '',
      customer_id: e.data.customer_id ?? '',
      status: 'connected',
      health: { status: 'unknown', last_checked_at: null, last_latency_ms: null, consecutive_failures: 0 },
      metrics: { calls: 0, errors: 0, error_rate: 0, avg_latency_ms: null },
      recent_errors: [],
      connected_at: e.data.connected_at ?? event.time,
      disconnected_at: null,
      version,
      latency_total_ms: 0,
    };
  }
  if (!state) return state;
  switch (e.type) {
    case 'integration.disconnected':
      return { ...state, status: 'disconnected', disconnected_at: e.data.disconnected_at ?? event.time, version };
    case 'integration.failed':
      return { ...state, version };
    case 'integration.health_checked': {
      const d = e.data;
      const failed = d.status === 'down';
      const calls = state.metrics.calls + 1;
      const errors = state.metrics.errors + (d.error ? 1 : 0);
      const latencyTotal = state.latency_total_ms + d.latency_ms;
      let recent = state.recent_errors;
      if (d.error) {
        const prior = recent.find((r) => r.message === d.error);
        recent = [
          { message: d.error, count: (prior?.count ?? 0) + 1, last_seen_at: d.checked_at },
          ...recent.filter((r) => r.message !== d.error),
        ].slice(0, RECENT_ERRORS);
      }
      return {
        ...state,
        health: {
          status: d.status,
          last_checked_at: d.checked_at,
          last_latency_ms: d.latency_ms,
          consecutive_failures: failed ? state.health.consecutive_failures + 1 : 0,
        },
        metrics: { calls, errors, error_rate: errors / calls, avg_latency_ms: Math.round(latencyTotal / calls) },
        recent_errors: recent,
        latency_total_ms: latencyTotal,
        version,
      };
    }
    case 'integration.mapping_set':
      return {
        ...state,
        mappings: {
          ...state.mappings,
          [e.data.event_type]: { version: e.data.version, expression: e.data.expression, updated_at: e.data.set_at },
        },
        version,
      };
    case 'integration.mapping_removed':
      return {
        ...state,
        mappings: { ...state.mappings, [e.data.event_type]: { version: e.data.version, expression: null, updated_at: e.data.removed_at } },
        version,
      };
    default: {
      const never: never = e;
      return never;
    }
  }
}

export function toIntegration(s: IntegrationState): Integration {
  const { latency_total_ms: _l, mappings: _m, ...out } = s;
  return out;
}

/** The integration's current (not removed) mappings, ordered by event type. */
export function currentMappings(s: IntegrationState): IntegrationMapping[] {
  return Object.entries(s.mappings ?? {})
    .filter((entry): entry is [string, MappingEntry & { expression: string }] => entry[1].expression !== null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([event_type, m]) => ({
      object: 'integration_mapping',
      integration_id: s.id,
      event_type,
      version: m.version,
      expression: m.expression,
      updated_at: m.updated_at,
    }));
}
