import { describe, expect, it } from 'vitest';
import type { CachedEndpoint } from '../src/dispatch/endpoint-cache.ts';
import { heldMessage, settle } from '../src/dispatch/held-message.ts';
import { createLanes } from '../src/dispatch/lanes.ts';
import type { ClaimedDelivery } from '../src/dispatch/store.ts';
import type { Work } from '../src/dispatch/work.ts';

const handle = () => {
  const calls: string[] = [];
  return {
    calls,
    m: { ack: () => void calls.push('ack'), nak: () => void calls.push('nak'), working: () => void calls.push('working') },
  };
};

describe('held-message ledger: a message is settled once, when its last delivery is recorded', () => {
  it('acks after every delivery was recorded, not before', () => {
    const h = handle();
    const hm = heldMessage(h.m, 3);
    settle(hm, true);
    settle(hm, true);
    expect(h.calls).toEqual([]);
    settle(hm, true);
    expect(h.calls).toEqual(['ack']);
  });

  it('gives the message back (nak) when any of its deliveries could not be recorded', () => {
    const h = handle();
    const hm = heldMessage(h.m, 2);
    settle(hm, false);
    settle(hm, true);
    expect(h.calls).toEqual(['nak']);
  });

  it('never settles a message twice', () => {
    const h = handle();
    const hm = heldMessage(h.m, 1);
    settle(hm, true);
    settle(hm, true);
    expect(h.calls).toEqual(['ack']);
  });
});

const endpoint = (id: string): CachedEndpoint =>
  ({ row: { id, rate_limit_per_s: null }, secret: 's', previousSecret: null, previousExpiresAt: 0 }) as CachedEndpoint;
const claimed = (id: string, endpointId: string): ClaimedDelivery => ({
  id,
  endpoint_id: endpointId,
  event_id: `evt_${id}`,
  event_type: 'lead.created',
  attempts: 0,
  lease_token: 'tok',
  lease_until: 0,
  body: '{}',
  traceparent: null,
});

describe('lanes: one per endpoint, each with its own concurrency and breaker', () => {
  const setup = (endpointConcurrency: number) => {
    const started: string[] = [];
    const finish: (() => void)[] = [];
    const givenBack: Work[] = [];
    const eps = new Map([
      ['wep_a', endpoint('wep_a')],
      ['wep_b', endpoint('wep_b')],
    ]);
    const lanes = createLanes({
      clock: () => 1000,
      endpointConcurrency,
      maxInFlight: 100,
      breaker: { windowMs: 30_000, minRequests: 2, failureRatio: 0.5, openMs: 30_000 },
      isStopped: () => false,
      run: (_lane, w) => {
        started.push(w.id);
        return new Promise<void>((r) => finish.push(r));
      },
      onCrash: (err) => {
        throw err;
      },
      giveBack: (items) => void givenBack.push(...items),
      refill: () => undefined,
    });
    return { lanes, started, finish, givenBack, endpointOf: (id: string) => eps.get(id) };
  };

  it("a busy endpoint holds only its own slots; another endpoint's deliveries start beside it", () => {
    const t = setup(2);
    t.lanes.enqueue([claimed('d1', 'wep_a'), claimed('d2', 'wep_a'), claimed('d3', 'wep_a'), claimed('e1', 'wep_b')], t.endpointOf);
    expect(t.started).toEqual(['d1', 'd2', 'e1']);
    expect(t.lanes.inFlight).toBe(3);
  });

  it('gives back what an open circuit will not start', () => {
    const t = setup(1);
    const lane = t.lanes.laneFor(t.endpointOf('wep_a') as CachedEndpoint);
    lane.breaker.record(false, 1000);
    lane.breaker.record(false, 1000);
    expect(lane.breaker.state).toBe('open');
    expect(t.lanes.room(lane)).toBe(0);
    t.lanes.enqueue([claimed('d1', 'wep_a'), claimed('d2', 'wep_a')], t.endpointOf);
    expect(t.started).toEqual([]);
    expect(t.givenBack.map((w) => w.id)).toEqual(['d1', 'd2']);
  });
});
