import type { Metrics } from '@pep/runtime';
import { perContext } from '@pep/service';

function make(metrics: Metrics) {
  const remaining = metrics.gauge('github_api_rate_limit_remaining', 'Calls left in the GitHub rate-limit window, by bucket', ['bucket']);
  const limit = metrics.gauge('github_api_rate_limit_limit', 'Size of the GitHub rate-limit window, by bucket', ['bucket']);
  const processing = metrics.histogram(
    'github_webhook_processing_seconds',
    'Seconds from a GitHub webhook delivery received to its platform events published',
    [],
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  return {
    rateLimit: (bucket: string, left: number, size: number) => {
      remaining.set({ bucket }, left);
      limit.set({ bucket }, size);
    },
    processed: (seconds: number) => processing.observe(Math.max(0, seconds)),
  };
}

/** The GitHub bridge's integration health: API rate-limit headroom and webhook processing time (one set per registry). */
export const bridgeMetrics = perContext(make);
