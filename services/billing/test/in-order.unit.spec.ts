import { describe, expect, it } from 'vitest';
import { inOrder } from '../src/app/in-order.ts';

/** A task per item that finishes only when the test says so. */
function gated(n: number) {
  const open: (() => void)[] = [];
  const started: number[] = [];
  let running = 0;
  let peak = 0;
  const fn = (i: number) =>
    new Promise<number>((resolve, reject) => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      let done = false;
      open[i] = () => {
        if (done) return;
        done = true;
        running--;
        if (i === n) reject(new Error(`item ${i} failed`));
        else resolve(i * 10);
      };
    });
  return { fn, open, started, peak: () => peak };
}
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('inOrder (the invoice run: drafts a few at a time, numbered in order)', () => {
  it('runs at most `limit` at once and gives the results in the items order, whatever order they finish in', async () => {
    const g = gated(-1);
    const items = Array.from({ length: 10 }, (_, i) => i);
    const run = inOrder(items, 3, g.fn);
    await tick();
    expect(g.started).toEqual([0, 1, 2]);
    // Finish the running ones last first: the next items start as slots free up.
    for (let round = 0; round < 4; round++) {
      for (const i of [...g.started].reverse()) g.open[i]?.();
      await tick();
    }
    const settled = await Promise.all(run.results);
    expect(settled).toEqual(items.map((i) => ({ ok: true, value: i * 10 })));
    expect(g.peak()).toBe(3);
  });

  it('starts nothing more after a failure: the failed item carries its error, later ones settle as not run', async () => {
    const g = gated(1);
    const run = inOrder([0, 1, 2, 3, 4, 5], 2, g.fn);
    await tick();
    g.open[1]?.();
    await tick();
    g.open[0]?.();
    await tick();
    const settled = await Promise.all(run.results);
    expect(settled[0]).toEqual({ ok: true, value: 0 });
    expect(settled[1]).toMatchObject({ ok: false, err: new Error('item 1 failed') });
    expect(g.started).toEqual([0, 1]);
    for (const s of settled.slice(2)) expect(s).toMatchObject({ ok: false, err: new Error('not run: stopped before this item') });
  });

  it('starts nothing more after stop(), and settles every result', async () => {
    const g = gated(-1);
    const run = inOrder([0, 1, 2, 3], 1, g.fn);
    await tick();
    run.stop();
    g.open[0]?.();
    const settled = await Promise.all(run.results);
    expect(settled.map((s) => s.ok)).toEqual([true, false, false, false]);
    expect(g.started).toEqual([0]);
  });
});
