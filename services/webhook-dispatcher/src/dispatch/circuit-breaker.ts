export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  windowMs: number;
  minRequests: number;
  failureRatio: number;
  openMs: number;
}

/**
 * Per-endpoint circuit breaker: opens when, over the last `windowMs`, at least `minRequests` attempts were
 * made and the failure ratio reached `failureRatio`; after `openMs` it half-opens and lets one probe through;
 * the probe's success closes it, its failure opens it again. Time is passed in.
 */
export class CircuitBreaker {
  private outcomes: { at: number; ok: boolean }[] = [];
  private head = 0;
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  state: BreakerState = 'closed';

  constructor(private readonly opts: BreakerOptions) {}

  /** Whether an attempt may start now (in half-open, only one probe at a time). */
  allow(now: number): boolean {
    if (this.state === 'open' && now - this.openedAt >= this.opts.openMs) {
      this.state = 'half_open';
      this.probing = false;
    }
    if (this.state === 'closed') return true;
    if (this.state === 'half_open' && !this.probing) return true;
    return false;
  }

  /** Marks the start of an attempt (takes the probe slot when half-open). */
  onStart(): void {
    if (this.state === 'half_open') this.probing = true;
  }

  /** An attempt that started but sent nothing (its mapping failed): gives the probe slot back, records nothing. */
  release(): void {
    this.probing = false;
  }

  /** When it will allow again (for scheduling), or 0 when it allows now. */
  reopensAt(): number {
    return this.state === 'open' ? this.openedAt + this.opts.openMs : 0;
  }

  record(ok: boolean, now: number): void {
    if (this.state === 'half_open') {
      this.probing = false;
      if (ok) {
        this.state = 'closed';
        this.clear();
      } else {
        this.trip(now);
      }
      return;
    }
    if (this.state === 'open') return;
    // A queue with a moving head and a running failure count: O(1) per attempt (this runs on every one).
    this.outcomes.push({ at: now, ok });
    if (!ok) this.failures++;
    const from = now - this.opts.windowMs;
    while (this.head < this.outcomes.length && (this.outcomes[this.head] as { at: number }).at < from) this.dropOldest();
    while (this.outcomes.length - this.head > 1000) this.dropOldest();
    if (this.head > 1024) {
      this.outcomes = this.outcomes.slice(this.head);
      this.head = 0;
    }
    const n = this.outcomes.length - this.head;
    if (n >= this.opts.minRequests && this.failures / n >= this.opts.failureRatio) this.trip(now);
  }

  private dropOldest(): void {
    if (!(this.outcomes[this.head] as { ok: boolean }).ok) this.failures--;
    this.head++;
  }

  private clear(): void {
    this.outcomes = [];
    this.head = 0;
    this.failures = 0;
  }

  private trip(now: number): void {
    this.state = 'open';
    this.openedAt = now;
    this.clear();
  }
}
