import type { StoredEvent } from '@pep/contracts';

/** One contribution of an event to the statistics: add `value` to (partner, UTC day, metric, dim). */
export interface StatsDelta {
  partner_id: string;
  day: string;
  metric: string;
  dim: string;
  value: number;
}

type Counts = { attempts?: unknown; succeeded?: unknown; exhausted?: unknown };
const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const dayOf = (time: unknown): string | undefined => {
  if (typeof time !== 'string') return undefined;
  const ms = Date.parse(time);
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : undefined;
};

/**
 * What one event adds to the statistics (pure: the read model is a fold of the stream, in any batching):
 * - an external event with a tenant (`<prefix>.ext.`, `partnerid`): one `events` of its type, on the day of its `time`;
 * - `api_usage.rolled_up`: `api_requests` and `api_errors` (its 4xx and 5xx) on the day of its minute;
 * - `webhook.deliveries.rolled_up`: attempts, succeeded and exhausted (failed for good), in total and per event type;
 * - `incident.opened`: one `incidents`; `rollback.planned` (not skipped): one `rollbacks`.
 */
export function statsDeltas(e: StoredEvent, prefix: string): StatsDelta[] {
  const data = (e.data ?? {}) as Record<string, unknown>;
  const partner = e.partnerid ?? (typeof data.partner_id === 'string' ? data.partner_id : undefined);
  if (!partner) return [];
  const at = (metric: string, dim: string, value: number, time: unknown = e.time): StatsDelta[] => {
    const day = dayOf(time);
    return day && value !== 0 ? [{ partner_id: partner, day, metric, dim, value }] : [];
  };
  if (e.subject_name.startsWith(`${prefix}.ext.`)) return e.partnerid ? at('events', e.type, 1) : [];
  if (!e.subject_name.startsWith(`${prefix}.agg.`)) return [];
  switch (e.type) {
    case 'api_usage.rolled_up': {
      const status = (data.by_status ?? {}) as Record<string, unknown>;
      return [
        ...at('api_requests', '', n(data.requests), data.minute),
        ...at('api_errors', '', n(status['4xx']) + n(status['5xx']), data.minute),
      ];
    }
    case 'webhook.deliveries.rolled_up': {
      const out = [
        ...at('delivery_attempts', '', n(data.attempts), data.minute),
        ...at('deliveries_succeeded', '', n(data.succeeded), data.minute),
        ...at('deliveries_failed', '', n(data.exhausted), data.minute),
      ];
      for (const [type, c] of Object.entries((data.by_event_type ?? {}) as Record<string, Counts>)) {
        out.push(
          ...at('type_attempts', type, n(c.attempts), data.minute),
          ...at('type_succeeded', type, n(c.succeeded), data.minute),
          ...at('type_failed', type, n(c.exhausted), data.minute),
        );
      }
      return out;
    }
    case 'incident.opened':
      return at('incidents', '', 1);
    case 'rollback.planned':
      return data.status === 'skipped' ? [] : at('rollbacks', '', 1);
    default:
      return [];
  }
}
