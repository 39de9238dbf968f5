/** Token bucket for one endpoint's rate limit (burst = one second's worth, at least 1). Time is passed in. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private ratePerS: number,
    now: number,
  ) {
    this.tokens = Math.max(1, ratePerS);
    this.last = now;
  }

  setRate(ratePerS: number): void {
    this.ratePerS = ratePerS;
  }

  private refill(now: number) {
    const cap = Math.max(1, this.ratePerS);
    this.tokens = Math.min(cap, this.tokens + ((now - this.last) / 1000) * this.ratePerS);
    this.last = now;
  }

  take(now: number): boolean {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token is available. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerS) * 1000);
  }
}
