import { randomUUID } from 'node:crypto';
import type { EndpointCache } from './endpoint-cache.ts';
import type { Lanes } from './lanes.ts';
import { claimDue } from './store.ts';
import type { DispatchCore } from './core.ts';

const CLAIM_MAX = 500;

export type Poller = ReturnType<typeof createPoller>;

/**
 * The poller: claims due rows (retries, overflow, replays, leases of a crashed replica) per endpoint with
 * `FOR UPDATE SKIP LOCKED`, at most what each lane has room for, every `pollMs`, sooner while claims come
 * back full, at once when nudged.
 */
export function createPoller(
  o: DispatchCore & {
    cache: EndpointCache;
    lanes: Lanes;
    pollMs: number;
    leaseMsFor: (timeoutMs: number) => number;
    isStopped: () => boolean;
  },
) {
  let timer: NodeJS.Timeout | null = null;
  let polling = false;
  let pollAgain = false;

  const poll = async () => {
    if (o.isStopped()) return;
    if (polling) {
      pollAgain = true; // a nudge during a poll is not lost
      return;
    }
    polling = true;
    pollAgain = false;
    let again = false;
    try {
      await o.cache.refresh();
      const now = o.clock();
      const wants: { endpoint_id: string; cap: number; lease_ms: number }[] = [];
      for (const ep of o.cache.enabled()) {
        const lane = o.lanes.laneFor(ep);
        let cap = Math.min(o.lanes.freeSlots(lane), CLAIM_MAX);
        if (cap <= 0) continue;
        if (!lane.breaker.allow(now)) continue;
        if (lane.breaker.state === 'half_open') cap = lane.inFlight === 0 && lane.queue.length === 0 ? 1 : 0;
        if (cap > 0) wants.push({ endpoint_id: ep.row.id, cap, lease_ms: o.leaseMsFor(ep.row.timeout_ms) });
      }
      const claimed = await claimDue(o.db, wants, randomUUID());
      const perEndpoint = new Map<string, number>();
      for (const c of claimed) perEndpoint.set(c.endpoint_id, (perEndpoint.get(c.endpoint_id) ?? 0) + 1);
      for (const w of wants) {
        const lane = o.lanes.get(w.endpoint_id);
        if (lane) lane.backlog = (perEndpoint.get(w.endpoint_id) ?? 0) >= w.cap;
      }
      again = pollAgain || wants.some((w) => (perEndpoint.get(w.endpoint_id) ?? 0) >= w.cap && w.cap > 1);
      o.lanes.enqueue(claimed, (id) => o.cache.get(id));
    } catch (err) {
      o.metrics.recovered('poll', 'poll failed', { err });
    } finally {
      polling = false;
    }
    schedule(pollAgain ? 0 : again ? 20 : o.pollMs);
  };

  const schedule = (ms: number) => {
    if (o.isStopped()) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void poll(), ms);
  };

  return {
    /** Polls now (after intake wrote rows, a resend, recover or replay). */
    nudge: () => schedule(0),
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
}
