import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { amount, currency, date, id, note, someFieldBesides } from './common.ts';

const common = { origin: 'external', category: 'policy' } as const;

export const BillingIntervalSchema = z.enum(['monthly', 'quarterly', 'semiannual', 'annual']);

export const PolicyCreated = defineEvent({
  ...common,
  type: 'policy.created',
  version: 1,
  description: 'A policy was issued to a policyholder.',
  data: z
    .object({
      policy_id: id(),
      policy_number: safeText().min(1).max(64),
      holder_id: id().describe('The policyholder (customer) id'),
      product: safeText().min(1).max(128).describe('Product or plan, e.g. "auto_comprehensive"'),
      premium_amount: amount().describe('Premium per billing interval, in minor units'),
      currency: currency(),
      billing_interval: BillingIntervalSchema,
      coverage_amount: amount().optional().describe('Coverage limit, in minor units'),
      effective_date: date(),
      expiration_date: date(),
      lead_id: id().optional().describe('The lead this policy was sold to, if any'),
    })
    .strict()
    .refine((d) => d.expiration_date > d.effective_date, {
      message: 'expiration_date must be after effective_date',
      path: ['expiration_date'],
    }),
});

export const PolicyUpdated = defineEvent({
  ...common,
  type: 'policy.updated',
  version: 1,
  description: 'Terms of a policy changed (an endorsement); only the changed fields are present.',
  data: z
    .object({
      policy_id: id(),
      holder_id: id().optional(),
      product: safeText().min(1).max(128).optional(),
      premium_amount: amount().optional(),
      currency: currency().optional(),
      billing_interval: BillingIntervalSchema.optional(),
      coverage_amount: amount().optional(),
      expiration_date: date().optional(),
      change_reason: note().optional(),
    })
    .strict()
    .refine(...someFieldBesides('policy_id', 'change_reason')),
});

export const PolicyRenewed = defineEvent({
  ...common,
  type: 'policy.renewed',
  version: 1,
  description: 'A policy was renewed for a new term.',
  data: z
    .object({
      policy_id: id(),
      previous_expiration_date: date(),
      new_expiration_date: date(),
      premium_amount: amount(),
      currency: currency(),
    })
    .strict()
    .refine((d) => d.new_expiration_date > d.previous_expiration_date, {
      message: 'new_expiration_date must be after previous_expiration_date',
      path: ['new_expiration_date'],
    }),
});

export const PolicyCancelled = defineEvent({
  ...common,
  type: 'policy.cancelled',
  version: 1,
  description: 'A policy was cancelled; coverage ends on effective_date.',
  data: z
    .object({
      policy_id: id(),
      reason: z.enum(['customer_request', 'non_payment', 'underwriting', 'fraud', 'replaced', 'other']),
      effective_date: date(),
      cancelled_by: id().optional(),
      refund_amount: amount().optional().describe('Refunded premium, in minor units'),
      currency: currency().optional(),
      note: note().optional(),
    })
    .strict()
    .refine((d) => d.refund_amount === undefined || d.currency !== undefined, {
      message: 'currency is required with refund_amount',
      path: ['currency'],
    }),
});

export const policyEvents = [PolicyCreated, PolicyUpdated, PolicyRenewed, PolicyCancelled] as const;
