/** Retry schedule of a delivery: pure, with the random draw passed in. */
export interface RetryPolicy {
  /** Delays before attempts 2..n (ms); attempts in total = 1 + delays.length. */
  delaysMs: readonly number[];
  /** ±fraction of jitter on each delay (0.2 = ±20%). */
  jitter: number;
  /** Cap on a receiver's Retry-After. */
  retryAfterMaxMs: number;
}

export function maxAttempts(p: RetryPolicy): number {
  return 1 + p.delaysMs.length;
}

/**
 * Delay before the next attempt after `attemptsDone` failed attempts. `rand` in [0,1) picks the jitter.
 * A Retry-After from the receiver is honoured when it asks for longer than the schedule, up to the cap.
 */
export function nextDelayMs(p: RetryPolicy, attemptsDone: number, rand: number, retryAfterMs?: number): number {
  const base = p.delaysMs[Math.min(Math.max(attemptsDone - 1, 0), p.delaysMs.length - 1)] ?? 0;
  const jittered = Math.round(base * (1 + p.jitter * (2 * rand - 1)));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return jittered;
  return Math.max(jittered, Math.min(retryAfterMs, p.retryAfterMaxMs));
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), undefined when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, now: Date): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now.getTime());
}
