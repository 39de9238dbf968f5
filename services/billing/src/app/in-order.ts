// Bounded concurrency with results in order: the invoice run prices and creates drafts a few partners at a time
// and numbers them one by one in the partners' order.

export type Settled<R> = { ok: true; value: R } | { ok: false; err: unknown };

/**
 * Runs `fn` over the items at most `limit` at a time and gives one promise per item, in the items' order; each
 * settles (never rejects). After `stop()` or a failure no further item starts: those settle as not run.
 */
export function inOrder<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>) {
  const resolvers: ((s: Settled<R>) => void)[] = [];
  const results = items.map(() => new Promise<Settled<R>>((resolve) => resolvers.push(resolve)));
  let next = 0;
  let stopped = false;
  const notRun = (): Settled<R> => ({ ok: false, err: new Error('not run: stopped before this item') });
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      const resolve = resolvers[i] as (s: Settled<R>) => void;
      if (stopped) {
        resolve(notRun());
        continue;
      }
      try {
        resolve({ ok: true, value: await fn(items[i] as T) });
      } catch (err) {
        stopped = true;
        resolve({ ok: false, err });
      }
    }
  };
  for (let k = 0; k < Math.min(Math.max(1, limit), items.length); k++) void worker();
  return {
    results,
    stop: () => {
      stopped = true;
    },
  };
}
