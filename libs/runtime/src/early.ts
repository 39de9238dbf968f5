/**
 * Work started now whose result is awaited later (a read that runs while something else is claimed). Its
 * rejection is neither unhandled in the meantime nor lost: `result()` throws it to whoever awaits it.
 */
export interface EarlyResult<T> {
  result(): Promise<T>;
}

export function startEarly<T>(work: Promise<T>): EarlyResult<T> {
  const settled = work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return {
    async result() {
      const s = await settled;
      if (!s.ok) throw s.error;
      return s.value;
    },
  };
}

/** An early result that is already there. */
export const earlyValue = <T>(value: T): EarlyResult<T> => ({ result: async () => value });
