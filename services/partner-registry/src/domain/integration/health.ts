import type { IntegrationHealth } from '@pep/contracts';

/** What one health call observed. */
export type ProbeResult = { latency_ms: number; http_status: number } | { latency_ms: number; error: string };

export interface HealthThresholds {
  /** A 2xx slower than this is `degraded`. */
  degradedLatencyMs: number;
}

/**
 * up: 2xx within the latency threshold; degraded: 2xx but slow, or 429 (the app is shedding load);
 * down: any other status, a timeout or a connection error. Pure.
 */
export function classifyHealth(
  probe: ProbeResult,
  t: HealthThresholds,
): { status: Exclude<IntegrationHealth, 'unknown'>; error: string | null } {
  if ('error' in probe) return { status: 'down', error: probe.error };
  const s = probe.http_status;
  if (s >= 200 && s < 300) {
    return probe.latency_ms > t.degradedLatencyMs
      ? { status: 'degraded', error: `slow response: ${probe.latency_ms} ms > ${t.degradedLatencyMs} ms` }
      : { status: 'up', error: null };
  }
  if (s === 429) return { status: 'degraded', error: 'HTTP 429' };
  return { status: 'down', error: `HTTP ${s}` };
}
