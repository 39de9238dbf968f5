import type { Metrics } from '@pep/runtime';

/**
 * `rollback_incident_to_action_seconds`: from the incident's run being planned (at intake) to each rollback
 * action's outcome (a flag turned off, a revert PR opened, a webhook called), by action kind and outcome.
 * The SLO an SRE watches is the flag_off p95 (docs/rollback.md: the time budget).
 */
export function rollbackMetrics(metrics: Metrics) {
  const latency = metrics.histogram(
    'rollback_incident_to_action_seconds',
    'Seconds from an incident (its run planned) to a rollback action done, by kind and outcome',
    ['kind', 'outcome'],
    [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
  );
  return (kind: string, ok: boolean, seconds: number) => {
    latency.observe({ kind, outcome: ok ? 'succeeded' : 'failed' }, Math.max(0, seconds));
  };
}
