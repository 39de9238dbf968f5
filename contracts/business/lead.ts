import { z } from 'zod';
import { defineEvent } from '../catalog/registry.ts';

const common = { origin: 'external', category: 'lead' } as const;

export const LeadCreated = defineEvent({
  ...common,
  type: 'lead.created',
  version: 1,
  description: 'A partner captured a new lead.',
  data: z.object({
    lead_id: z.string().min(1).max(128),
    email: z.email(),
    first_name: z.string().max(200).optional(),
    last_name: z.string().max(200).optional(),
    source: z.string().max(200).optional(),
  }),
});
