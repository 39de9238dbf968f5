import type { SsrfPolicy } from '@pep/webhooks';
import { createSafeDispatcher } from '@pep/webhooks';
import type { ProbeResult } from '../domain/integration/health.ts';
import { probeHealthUrl } from './health-checker.ts';

/** A health-URL prober with its own SSRF-safe connection pool. */
export function createHealthProbe(policy: SsrfPolicy, timeoutMs: number, onDrainError: (err: unknown) => void) {
  const dispatcher = createSafeDispatcher(policy, { connectTimeoutMs: timeoutMs });
  return {
    probe: (url: string): Promise<ProbeResult> => probeHealthUrl(url, dispatcher, timeoutMs, onDrainError),
    close: () => dispatcher.close(),
  };
}
