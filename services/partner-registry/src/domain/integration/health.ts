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

/** Webhook attempts to the integration's endpoints in the last traffic window (from the dispatcher's rollups). */
export interface RecentTraffic {
  attempts: number;
  succeeded: number;
  window_ms: number;
}

/**
 * Health from the scheduled check and from traffic: an integration whose endpoints failed every one of at least
 * `minAttempts` webhook attempts in the window is `down`, whatever its health URL answers; without a health URL the
 * traffic alone decides (`up` when some attempt succeeded); with neither, nothing is known (null). Pure.
 */
export function combineHealth(
  probe: ProbeResult | null,
  traffic: RecentTraffic | null,
  t: HealthThresholds & { minAttempts: number },
): { status: Exclude<IntegrationHealth, 'unknown'>; error: string | null; source: 'traffic' | 'check' } | null {
  const failingTraffic = traffic !== null && traffic.attempts >= t.minAttempts && traffic.succeeded === 0;
  if (failingTraffic) {
    const minutes = Math.round(traffic.window_ms / 60_000);
    return {
      status: 'down',
      error: `every webhook delivery failed in the last ${minutes} min (${traffic.attempts} attempts)`,
      source: 'traffic',
    };
  }
  if (probe) return { ...classifyHealth(probe, t), source: 'check' };
  if (traffic !== null && traffic.attempts >= t.minAttempts) return { status: 'up', error: null, source: 'traffic' };
  return null;
}
