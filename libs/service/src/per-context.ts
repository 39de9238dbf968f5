/**
 * One value per context, built on first use and shared after: how a service's handlers and its background start
 * reach the same runtime (command bus, workers, metrics) for the context `runService` gives both. Keyed weakly, so
 * a context that is dropped (a test's service instance) takes its runtime with it; a second context gets its own.
 */
export function perContext<Ctx extends object, R>(create: (ctx: Ctx) => R): (ctx: Ctx) => R {
  const made = new WeakMap<Ctx, R>();
  return (ctx) => {
    if (made.has(ctx)) return made.get(ctx) as R;
    const value = create(ctx);
    made.set(ctx, value);
    return value;
  };
}
