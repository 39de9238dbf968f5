/**
 * Exact money arithmetic. Amounts are integers in the currency's minor unit; intermediate results are exact
 * rationals over BigInt, and a result becomes money only through `roundMinor`, once per line item.
 *
 * Rounding rule: half away from zero to the minor unit (0.5 cent → 1 cent, -0.5 → -1), applied once per line
 * item (a tier of a usage charge, a proration line, one transaction's share). Totals are the sum of the
 * rounded line items, so line items always add up to the total.
 */
export interface Ratio {
  num: bigint;
  den: bigint;
}

export class MoneyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MoneyError';
  }
}

export const ratio = (num: bigint | number, den: bigint | number = 1n): Ratio => {
  const d = BigInt(den);
  if (d === 0n) throw new MoneyError('division by zero');
  return d < 0n ? { num: -BigInt(num), den: -d } : { num: BigInt(num), den: d };
};

/** "0.015" → 15/1000, exactly. */
export function parseDecimal(s: string): Ratio {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw new MoneyError(`not a decimal: ${s}`);
  const frac = m[2] ?? '';
  return ratio(BigInt(`${m[1]}${frac}`), 10n ** BigInt(frac.length));
}

export const mul = (a: Ratio, b: Ratio): Ratio => ratio(a.num * b.num, a.den * b.den);
export const add = (a: Ratio, b: Ratio): Ratio => ratio(a.num * b.den + b.num * a.den, a.den * b.den);

/** Half away from zero, to an integer number of minor units. */
export function roundMinor(r: Ratio): number {
  const neg = r.num < 0n;
  const n = neg ? -r.num : r.num;
  const q = (2n * n + r.den) / (2n * r.den);
  const v = neg ? -q : q;
  const out = Number(v);
  if (!Number.isSafeInteger(out)) throw new MoneyError(`amount ${v} is out of range`);
  return out;
}

/** Checks an integer amount in minor units. */
export function assertMinor(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw new MoneyError(`${what} must be an integer amount in minor units, got ${n}`);
  return n;
}

/** A ratio printed as a decimal string (for unit prices in line items), exact when it terminates, else 12 places. */
export function formatDecimal(r: Ratio): string {
  const neg = r.num < 0n;
  const n = neg ? -r.num : r.num;
  const int = n / r.den;
  let rem = n % r.den;
  let frac = '';
  for (let i = 0; i < 12 && rem !== 0n; i++) {
    rem *= 10n;
    frac += String(rem / r.den);
    rem %= r.den;
  }
  return `${neg ? '-' : ''}${int}${frac ? `.${frac}` : ''}`;
}
