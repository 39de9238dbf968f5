import { createLogger } from '@pep/runtime';
import { createTestBus, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecreateReason, startStallWatch } from '../src/index.ts';

// The watchdog's own rule, apart from broker restarts: behind the stream with no progress for `stallMs` →
// recreate (counted with its reason); progressing, or caught up → leave it alone.
const names = testNames('stw');
const logger = createLogger('test', 'silent');
let t: Awaited<ReturnType<typeof createTestBus>>;

beforeAll(async () => {
  t = await createTestBus(names);
});
afterAll(async () => {
  await t?.cleanup();
});

describe('stall watch', () => {
  it('recreates a consumer that is behind and makes no progress, and only that one', async () => {
    const reasons: RecreateReason[] = [];
    let applied = 5;
    const stuck = startStallWatch({
      name: 'stuck',
      nc: t.bus.nc,
      logger,
      applied: () => applied,
      target: async () => 10,
      recreate: (r) => reasons.push(r),
      stallMs: 300,
      checkMs: 50,
    });
    const moving: RecreateReason[] = [];
    let movingApplied = 0;
    const progressing = startStallWatch({
      name: 'progressing',
      nc: t.bus.nc,
      logger,
      applied: () => movingApplied,
      target: async () => movingApplied + 3,
      recreate: (r) => moving.push(r),
      stallMs: 300,
      checkMs: 50,
    });
    const tick = setInterval(() => movingApplied++, 40);
    const caughtUp: RecreateReason[] = [];
    const idle = startStallWatch({
      name: 'caught-up',
      nc: t.bus.nc,
      logger,
      applied: () => 7,
      target: async () => 7,
      recreate: (r) => caughtUp.push(r),
      stallMs: 300,
      checkMs: 50,
    });
    try {
      await waitUntil(() => reasons.length > 0 || undefined, { timeoutMs: 5000, what: 'the stuck consumer to be recreated' });
      expect(reasons[0]).toBe('stalled');
      expect(stuck.state()).toEqual(expect.objectContaining({ behind: 5, recreated: reasons.length, lastRecreateReason: 'stalled' }));
      // Once it moves and catches up, it is left alone.
      applied = 10;
      const after = reasons.length;
      await new Promise((r) => setTimeout(r, 800));
      expect(reasons.length).toBe(after);
      expect(stuck.state().behind).toBe(0);
      expect(moving).toEqual([]);
      expect(caughtUp).toEqual([]);
    } finally {
      clearInterval(tick);
      stuck.stop();
      progressing.stop();
      idle.stop();
    }
  });
});
