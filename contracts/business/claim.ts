import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';
import { amount, code, currency, date, id, note, timestamp } from './common.ts';

const common = { origin: 'external', category: 'claim' } as const;

export const ClaimFiled = defineEvent({
  ...common,
  type: 'claim.filed',
  version: 1,
  description: 'A policyholder filed a claim against a policy.',
  data: z
    .object({
      claim_id: id(),
      policy_id: id(),
      claimant_id: id(),
      claim_type: code().describe('Kind of loss, e.g. "auto_collision", "water_damage"'),
      incident_date: date(),
      amount_claimed: amount().describe('In minor units'),
      currency: currency(),
      description: safeText().max(5000).optional(),
    })
    .strict(),
});

export const ClaimApproved = defineEvent({
  ...common,
  type: 'claim.approved',
  version: 1,
  description: 'An adjuster approved a claim (possibly for less than claimed).',
  data: z
    .object({
      claim_id: id(),
      policy_id: id(),
      approved_amount: amount().describe('In minor units'),
      currency: currency(),
      approved_by: id().optional(),
      note: note().optional(),
    })
    .strict(),
});

export const ClaimDenied = defineEvent({
  ...common,
  type: 'claim.denied',
  version: 1,
  description: 'A claim was denied.',
  data: z
    .object({
      claim_id: id(),
      policy_id: id(),
      reason_code: z.enum(['not_covered', 'policy_inactive', 'insufficient_evidence', 'fraud_suspected', 'duplicate', 'other']),
      reason: note().optional(),
      denied_by: id().optional(),
    })
    .strict(),
});

export const ClaimPaid = defineEvent({
  ...common,
  type: 'claim.paid',
  version: 1,
  description: 'An approved claim was paid out.',
  data: z
    .object({
      claim_id: id(),
      policy_id: id(),
      payment_id: id(),
      amount: amount().describe('In minor units'),
      currency: currency(),
      method: z.enum(['bank_transfer', 'check', 'card', 'other']),
      paid_at: timestamp().optional(),
    })
    .strict(),
});

export const claimEvents = [ClaimFiled, ClaimApproved, ClaimDenied, ClaimPaid] as const;
