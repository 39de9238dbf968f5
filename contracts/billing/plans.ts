import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { amount, code, currency } from '../business/common.ts';

/**
 * Pricing plans. Money is an integer in the currency's minor unit (cents) with an ISO 4217 currency; a unit
 * price may be a fraction of the minor unit and is then a decimal string (`unit_amount_decimal`, as Stripe's),
 * e.g. "0.15" = 0.15 cents per request. Rounding happens once per line item (see docs/billing.md).
 */
export const DecimalStringSchema = safeText().regex(
  /^\d{1,12}(\.\d{1,12})?$/,
  'must be a non-negative decimal like "12" or "0.015" (at most 12 decimals)',
);

export const TierSchema = z
  .object({
    up_to: z.number().int().min(1).max(1e15).nullable().describe('Inclusive upper bound of the tier; null for the last (unbounded) tier'),
    unit_amount_decimal: DecimalStringSchema.default('0').describe('Price per unit in minor units'),
    flat_amount: amount().default(0).describe('Flat amount for reaching the tier, in minor units'),
  })
  .strict();
export type Tier = z.output<typeof TierSchema>;

const tiersOk = (tiers: { up_to: number | null }[], ctx: z.RefinementCtx) => {
  tiers.forEach((t, i) => {
    const last = i === tiers.length - 1;
    if (last && t.up_to !== null)
      ctx.addIssue({ code: 'custom', path: ['tiers', i, 'up_to'], message: 'the last tier must be unbounded (null)' });
    if (!last && t.up_to === null)
      ctx.addIssue({ code: 'custom', path: ['tiers', i, 'up_to'], message: 'only the last tier may be unbounded' });
    const prev = tiers[i - 1]?.up_to;
    if (i > 0 && t.up_to !== null && prev !== null && prev !== undefined && t.up_to <= prev)
      ctx.addIssue({ code: 'custom', path: ['tiers', i, 'up_to'], message: 'tiers must ascend' });
  });
};

const chargeBase = {
  meter: code().describe('The meter whose usage is charged'),
  included_units: z.number().int().min(0).max(1e15).default(0).describe('Free units per period before any price applies'),
};
export const UsageChargeSchema = z
  .discriminatedUnion('tiering', [
    z
      .object({
        ...chargeBase,
        tiering: z.literal('graduated').describe('Each unit is priced by the tier it falls in'),
        tiers: z.array(TierSchema).min(1).max(20),
      })
      .strict(),
    z
      .object({
        ...chargeBase,
        tiering: z.literal('volume').describe('Every unit is priced by the tier the total falls in'),
        tiers: z.array(TierSchema).min(1).max(20),
      })
      .strict(),
    z
      .object({
        ...chargeBase,
        tiering: z.literal('package').describe('Units are sold in packages; a started package is charged whole'),
        package_size: z.number().int().min(1).max(1e12),
        package_amount: amount(),
      })
      .strict(),
  ])
  .superRefine((c, ctx) => {
    if (c.tiering !== 'package') tiersOk(c.tiers, ctx);
  });
export type UsageCharge = z.output<typeof UsageChargeSchema>;

export const PlanIntervalSchema = z.enum(['month', 'year']);

const planBase = {
  code: code().describe('Stable plan code; versions share it'),
  name: safeText().trim().min(1).max(200),
  description: safeText().max(2000).optional(),
  currency: currency(),
};
const charges = z
  .array(UsageChargeSchema)
  .min(1)
  .max(20)
  .refine((cs) => new Set(cs.map((c) => c.meter)).size === cs.length, { message: 'one charge per meter' });

export const PlanDefinitionSchema = z
  .discriminatedUnion('model', [
    z
      .object({
        ...planBase,
        model: z.literal('flat_fee'),
        interval: PlanIntervalSchema,
        amount: amount().describe('Charged in advance each interval'),
      })
      .strict(),
    z.object({ ...planBase, model: z.literal('usage_based'), charges }).strict(),
    z
      .object({
        ...planBase,
        model: z.literal('revenue_share'),
        percent: DecimalStringSchema.refine((p) => Number(p) > 0 && Number(p) <= 100, 'must be in (0, 100]').describe(
          'Share of each transaction value sold through the platform',
        ),
        minimum_per_transaction: amount().optional().describe('The least taken per transaction'),
      })
      .strict(),
    z
      .object({
        ...planBase,
        model: z.literal('hybrid'),
        interval: PlanIntervalSchema,
        amount: amount().describe('Flat fee charged in advance each interval'),
        charges,
      })
      .strict(),
  ])
  .meta({ id: 'PlanDefinition' });
export type PlanDefinition = z.output<typeof PlanDefinitionSchema>;
/** A published, immutable version of a plan. */
export type PlanVersion = PlanDefinition & { version: number };
