import type { Principal } from '@pep/contracts';
import { Injectable } from '@nestjs/common';

/** The route a request is for, as the rate limiter sees it. */
export interface RateLimitedRoute {
  operationId: string;
  method: string;
  path: string;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Headers for the response either way (`RateLimit-Limit`, `RateLimit-Remaining`, `Retry-After`, ...). */
  headers: Record<string, string>;
  /** When refused: seconds until a retry may succeed. */
  retryAfterSeconds?: number;
}

const ALLOW: RateLimitDecision = Object.freeze({ allowed: true, headers: Object.freeze({}) as Record<string, string> });

/**
 * The rate-limit hook the request pipeline calls after authentication (`principal` is undefined on public
 * routes). This one allows everything; a real limiter replaces it in `src/rate-limit/` by providing another
 * class for the `RateLimiter` token in `RateLimitModule`.
 */
@Injectable()
export class RateLimiter {
  check(_principal: Principal | undefined, _route: RateLimitedRoute): RateLimitDecision | Promise<RateLimitDecision> {
    return ALLOW;
  }
}
