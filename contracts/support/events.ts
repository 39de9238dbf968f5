import { z } from 'zod';
import { defineEvent } from '../catalog/registry.ts';

export const TicketPrioritySchema = z.enum(['low', 'normal', 'high', 'urgent']);
export type TicketPriority = z.output<typeof TicketPrioritySchema>;
export const TicketStatusSchema = z.enum(['open', 'in_progress', 'waiting_on_partner', 'resolved', 'closed']);
export type TicketStatus = z.output<typeof TicketStatusSchema>;

/** Allowed status transitions (resolved → open is a reopen; closed is terminal). */
export const TICKET_TRANSITIONS: Record<TicketStatus, readonly TicketStatus[]> = {
  open: ['in_progress', 'waiting_on_partner', 'resolved', 'closed'],
  in_progress: ['waiting_on_partner', 'resolved', 'closed'],
  waiting_on_partner: ['in_progress', 'resolved', 'closed'],
  resolved: ['open', 'closed'],
  closed: [],
};

const common = { origin: 'domain', aggregate: 'ticket', category: 'support' } as const;
const ids = { ticket_id: z.string(), partner_id: z.string() };

export const TicketOpened = defineEvent({
  ...common,
  type: 'ticket.opened',
  version: 1,
  description: "A support ticket was opened; its SLA due time follows from the partner's tier and the priority.",
  data: z.object({
    ...ids,
    subject: z.string(),
    description: z.string(),
    priority: TicketPrioritySchema,
    opened_by: z.string(),
    partner_tier: z.string(),
    opened_at: z.iso.datetime({ offset: true }).describe('The SLA clock starts here'),
    sla_due_at: z.iso.datetime({ offset: true }),
  }),
});

export const TicketCommented = defineEvent({
  ...common,
  type: 'ticket.commented',
  version: 1,
  description: 'A comment was added by the partner or by platform support.',
  data: z.object({
    ...ids,
    comment_id: z.string(),
    author: z.string(),
    author_kind: z.enum(['partner', 'platform']),
    body: z.string(),
  }),
});

export const TicketAssigned = defineEvent({
  ...common,
  type: 'ticket.assigned',
  version: 1,
  description: 'The ticket was assigned to a support engineer (null = unassigned).',
  data: z.object({ ...ids, assignee: z.string().nullable(), previous_assignee: z.string().nullable() }),
});

export const TicketPriorityChanged = defineEvent({
  ...common,
  type: 'ticket.priority_changed',
  version: 1,
  description: 'The priority changed; the SLA due time is recomputed from the opening time.',
  data: z.object({
    ...ids,
    priority: TicketPrioritySchema,
    previous_priority: TicketPrioritySchema,
    sla_due_at: z.iso.datetime({ offset: true }),
  }),
});

export const TicketStatusChanged = defineEvent({
  ...common,
  type: 'ticket.status_changed',
  version: 1,
  description: 'The ticket moved to another status.',
  data: z.object({ ...ids, status: TicketStatusSchema, previous_status: TicketStatusSchema, reason: z.string().nullable() }),
});

export const ticketEvents = [TicketOpened, TicketCommented, TicketAssigned, TicketPriorityChanged, TicketStatusChanged] as const;
