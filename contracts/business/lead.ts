import { z } from 'zod';
import { safeEmail, safeText } from '../common/text.ts';
import { type DataOf, defineEvent } from '../catalog/registry.ts';
import { amount, code, currency, id, note, someFieldBesides, timestamp } from './common.ts';

const common = { origin: 'external', category: 'lead' } as const;

const name = () => safeText().max(200);

export const LeadCreated = defineEvent({
  ...common,
  type: 'lead.created',
  version: 1,
  description: 'A partner captured a new lead.',
  data: z
    .object({
      lead_id: id(),
      email: safeEmail(),
      first_name: name().optional(),
      last_name: name().optional(),
      source: safeText().max(200).optional(),
    })
    .strict(),
});

/**
 * lead.updated v1 (superseded): carried the whole name in one field. Stored v1 events are read as v2 by the
 * upcaster below, which splits `name` at the first run of whitespace.
 */
const LeadUpdatedV1Data = z.object({ lead_id: id(), name: safeText().trim().min(1).max(400) }).strict();

export const LeadUpdatedV1 = defineEvent({
  ...common,
  type: 'lead.updated',
  version: 1,
  description: 'Contact details of a lead changed (v1: the name as one field; superseded by v2).',
  data: LeadUpdatedV1Data,
  upcast: (data): LeadUpdatedData => upcastLeadUpdatedV1(data),
});

export const LeadUpdated = defineEvent({
  ...common,
  type: 'lead.updated',
  version: 2,
  description: 'Contact details of a lead changed; only the changed fields are present.',
  data: z
    .object({
      lead_id: id(),
      email: safeEmail().optional(),
      first_name: name().optional(),
      last_name: name().optional(),
      phone: safeText()
        .regex(/^\+[1-9][0-9]{6,14}$/, 'must be an E.164 phone number like "+14155550100"')
        .optional(),
      company: safeText().max(200).optional(),
      source: safeText().max(200).optional(),
    })
    .strict()
    .refine(...someFieldBesides('lead_id')),
});

export type LeadUpdatedV1Data = z.output<typeof LeadUpdatedV1Data>;
export type LeadUpdatedData = DataOf<typeof LeadUpdated>;

/** v1 → v2: `name` "Ada King Lovelace" becomes `first_name` "Ada" and `last_name` "King Lovelace". */
export function upcastLeadUpdatedV1(data: LeadUpdatedV1Data): LeadUpdatedData {
  const [first = '', ...rest] = data.name.trim().split(/\s+/);
  const out: LeadUpdatedData = { lead_id: data.lead_id, first_name: first.slice(0, 200) };
  if (rest.length > 0) out.last_name = rest.join(' ').slice(0, 200);
  return out;
}

export const LeadQualified = defineEvent({
  ...common,
  type: 'lead.qualified',
  version: 1,
  description: 'The lead was qualified as a sales opportunity (by a person or a scoring model).',
  data: z
    .object({
      lead_id: id(),
      score: z.number().int().min(0).max(100).optional().describe('Qualification score, 0-100'),
      qualified_by: id().optional().describe('User or model that qualified the lead'),
      reason: note().optional(),
      qualified_at: timestamp().optional(),
    })
    .strict(),
});

export const LeadAssigned = defineEvent({
  ...common,
  type: 'lead.assigned',
  version: 1,
  description: 'The lead was assigned to a user or team who now owns the follow-up.',
  data: z
    .object({
      lead_id: id(),
      assignee_id: id(),
      assignee_type: z.enum(['user', 'team']).default('user'),
      previous_assignee_id: id().optional(),
      assigned_by: id().optional(),
    })
    .strict(),
});

export const LeadConverted = defineEvent({
  ...common,
  type: 'lead.converted',
  version: 1,
  description: 'The lead became a customer (and possibly a policy or an opportunity).',
  data: z
    .object({
      lead_id: id(),
      customer_id: id(),
      converted_to: z.enum(['customer', 'opportunity', 'policy']),
      opportunity_id: id().optional(),
      policy_id: id().optional(),
      value_amount: amount().optional().describe('Expected value in minor units'),
      currency: currency().optional(),
      campaign: code().optional(),
      converted_at: timestamp().optional(),
    })
    .strict()
    .refine((d) => (d.value_amount === undefined) === (d.currency === undefined), {
      message: 'value_amount and currency go together',
      path: ['currency'],
    }),
});

export const leadEvents = [LeadCreated, LeadUpdatedV1, LeadUpdated, LeadQualified, LeadAssigned, LeadConverted] as const;
