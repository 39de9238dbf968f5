import type { UsageCharge } from '@pep/contracts';
import { add, mul, parseDecimal, type Ratio, ratio, roundMinor } from './money.ts';

/** One priced tier of a usage charge (the invoice's tier breakdown). */
export interface TierLine {
  tier: number;
  /** First and last unit of the tier that this quantity reaches (1-based, after the included units). */
  from_unit: number;
  to_unit: number | null;
  quantity: number;
  unit_amount_decimal: string;
  flat_amount: number;
  amount: number;
}

export interface PricedUsage {
  meter: string;
  quantity: number;
  included_units: number;
  billable_units: number;
  amount: number;
  tiers: TierLine[];
}

/**
 * Prices one period's usage of a meter. Included units are free and come off the top; the billable rest is
 * priced by the charge's tiering:
 * - graduated: each unit by the tier it falls in (units 1-100 at the first tier's price, 101-… at the next);
 *   a tier's flat amount is charged once the tier is reached;
 * - volume: every unit at the price of the tier the billable total falls in, plus that tier's flat amount;
 * - package: ceil(billable / package_size) packages at package_amount.
 * Each tier line is rounded once (money.ts); the charge is the sum of its tier lines.
 */
export function priceUsageCharge(charge: UsageCharge, quantity: number): PricedUsage {
  if (!Number.isFinite(quantity) || quantity < 0) throw new RangeError(`usage quantity must be a non-negative number, got ${quantity}`);
  const billable = Math.max(0, quantity - charge.included_units);
  const base = { meter: charge.meter, quantity, included_units: charge.included_units, billable_units: billable };
  if (billable === 0) return { ...base, amount: 0, tiers: [] };
  const q: Ratio = quantityRatio(billable);
  const lines: TierLine[] = [];
  switch (charge.tiering) {
    case 'package': {
      const packages = Math.ceil(billable / charge.package_size);
      const amount = roundMinor(mul(ratio(packages), ratio(charge.package_amount)));
      lines.push({
        tier: 1,
        from_unit: 1,
        to_unit: null,
        quantity: packages,
        unit_amount_decimal: String(charge.package_amount),
        flat_amount: 0,
        amount,
      });
      break;
    }
    case 'volume': {
      const i = charge.tiers.findIndex((t) => t.up_to === null || billable <= t.up_to);
      const t = charge.tiers[i] as (typeof charge.tiers)[number];
      const exact = add(mul(q, parseDecimal(t.unit_amount_decimal)), ratio(t.flat_amount));
      lines.push({
        tier: i + 1,
        from_unit: 1,
        to_unit: t.up_to,
        quantity: billable,
        unit_amount_decimal: t.unit_amount_decimal,
        flat_amount: t.flat_amount,
        amount: roundMinor(exact),
      });
      break;
    }
    case 'graduated': {
      let lower = 0;
      for (const [i, t] of charge.tiers.entries()) {
        if (billable <= lower) break;
        const upper = t.up_to === null ? billable : Math.min(billable, t.up_to);
        const inTier = upper - lower;
        const exact = add(mul(quantityRatio(inTier), parseDecimal(t.unit_amount_decimal)), ratio(t.flat_amount));
        lines.push({
          tier: i + 1,
          from_unit: lower + 1,
          to_unit: t.up_to,
          quantity: inTier,
          unit_amount_decimal: t.unit_amount_decimal,
          flat_amount: t.flat_amount,
          amount: roundMinor(exact),
        });
        if (t.up_to === null) break;
        lower = t.up_to;
      }
      break;
    }
    default: {
      const never: never = charge;
      throw new Error(`unknown tiering ${JSON.stringify(never)}`);
    }
  }
  return { ...base, amount: lines.reduce((s, l) => s + l.amount, 0), tiers: lines };
}

/** Usage quantities may be fractional (a sum meter of GB); they are taken exactly as the decimal they print as. */
function quantityRatio(n: number): Ratio {
  if (Number.isInteger(n)) return ratio(BigInt(n));
  const s = n.toFixed(12).replace(/0+$/, '');
  return parseDecimal(s.endsWith('.') ? s.slice(0, -1) : s);
}
