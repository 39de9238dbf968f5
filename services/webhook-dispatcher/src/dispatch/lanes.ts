import type { Clock } from './clock.ts';
import { type BreakerOptions, CircuitBreaker } from './circuit-breaker.ts';
import type { CachedEndpoint } from './endpoint-cache.ts';
import { TokenBucket } from './rate-limiter.ts';
import type { RateGate, SharedRateLimiter } from './shared-rate-limiter.ts';
import type { ClaimedDelivery } from './store.ts';
import type { Work } from './work.ts';

/** Deliveries held or claimed by this process for one endpoint, with that endpoint's limits. */
export interface Lane {
  endpointId: string;
  queue: Work[];
  inFlight: number;
  breaker: CircuitBreaker;
  bucket: RateGate | null;
  timer: NodeJS.Timeout | null;
  /** Due deliveries of this endpoint may be waiting in Postgres (unleased at intake, or a full claim). */
  backlog: boolean;
}

export interface LanesOptions {
  clock: Clock;
  endpointConcurrency: number;
  maxInFlight: number;
  breaker: BreakerOptions;
  sharedRate?: SharedRateLimiter | undefined;
  isStopped: () => boolean;
  /** Runs one attempt (the lane's slot is held until it settles). */
  run: (lane: Lane, w: Work) => Promise<void>;
  /** An attempt threw (a bug: attempts record their own failures). */
  onCrash: (err: unknown, w: Work) => void;
  /** Gives back what a lane will not start (its circuit opened). */
  giveBack: (items: Work[]) => void;
  /** A lane is running low while Postgres holds more of its deliveries: poll now. */
  refill: () => void;
}

export type Lanes = ReturnType<typeof createLanes>;

/**
 * One lane per endpoint, each with its own concurrency, token-bucket rate limit and circuit breaker, so a
 * slow or failing endpoint only ever holds its own slots.
 */
export function createLanes(o: LanesOptions) {
  const lanes = new Map<string, Lane>();
  let inFlight = 0;
  // Deliveries one lane holds in this process (queued + in flight): enough that a busy endpoint is fed
  // straight from the stream rather than from Postgres, few enough to be sent well within the ack deadline.
  const laneCap = Math.min(5000, Math.max(256, o.endpointConcurrency * 64));
  const room = (lane: Lane) => laneCap - lane.queue.length - lane.inFlight;

  const laneFor = (ep: CachedEndpoint): Lane => {
    let lane = lanes.get(ep.row.id);
    if (!lane) {
      lane = {
        endpointId: ep.row.id,
        queue: [],
        inFlight: 0,
        breaker: new CircuitBreaker(o.breaker),
        bucket: null,
        timer: null,
        backlog: false,
      };
      lanes.set(ep.row.id, lane);
    }
    const rate = ep.row.rate_limit_per_s;
    if (rate && !lane.bucket) {
      const l = lane;
      lane.bucket = o.sharedRate ? o.sharedRate.gate(ep.row.id, rate, () => pump(l)) : new TokenBucket(rate, o.clock());
    } else if (rate && lane.bucket) lane.bucket.setRate(rate);
    else if (!rate) lane.bucket = null;
    return lane;
  };

  /** Takes what a lane has not started out of it (to be given back). */
  const drain = (lane: Lane): Work[] => lane.queue.splice(0);

  const pump = (lane: Lane) => {
    while (lane.queue.length && lane.inFlight < o.endpointConcurrency && inFlight < o.maxInFlight && !o.isStopped()) {
      const now = o.clock();
      if (!lane.breaker.allow(now)) {
        o.giveBack(drain(lane));
        return;
      }
      if (lane.bucket && !lane.bucket.take(now)) {
        if (!lane.timer) {
          lane.timer = setTimeout(() => {
            lane.timer = null;
            pump(lane);
          }, lane.bucket.waitMs(now));
        }
        return;
      }
      const w = lane.queue.shift();
      if (!w) return;
      lane.inFlight++;
      inFlight++;
      lane.breaker.onStart();
      void o
        .run(lane, w)
        .catch((err: unknown) => o.onCrash(err, w))
        .finally(() => {
          lane.inFlight--;
          inFlight--;
          pump(lane);
          // Refill from Postgres before the lane runs dry, not at the next poll tick.
          if (lane.backlog && lane.queue.length < laneCap / 2 && lane.breaker.state === 'closed') {
            lane.backlog = false;
            o.refill();
          }
          if (inFlight === o.maxInFlight - 1) for (const l of lanes.values()) pump(l);
        });
    }
  };

  return {
    laneFor,
    get: (endpointId: string) => lanes.get(endpointId),
    all: () => lanes.values(),
    /** What a lane can still take in memory; 0 when its circuit is not closed. */
    room: (lane: Lane) => (lane.breaker.state === 'closed' ? room(lane) : 0),
    /** What a lane can still take, whatever its circuit. */
    freeSlots: room,
    laneCap,
    get inFlight() {
      return inFlight;
    },
    pump,
    drain,
    markBacklog(endpointId: string) {
      const lane = lanes.get(endpointId);
      if (lane) lane.backlog = true;
    },
    /** Queues claimed rows on their lanes and starts what can start. */
    enqueue(items: ClaimedDelivery[], endpoint: (id: string) => CachedEndpoint | undefined) {
      const touched = new Set<Lane>();
      for (const w of items) {
        const ep = endpoint(w.endpoint_id);
        if (!ep) continue;
        const lane = laneFor(ep);
        lane.queue.push({ ...w, kind: 'claimed' });
        touched.add(lane);
      }
      for (const l of touched) pump(l);
    },
  };
}
