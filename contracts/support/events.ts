import { z } from 'zod';
import { safeDatetime, safeText } from '../common/text.ts';
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
const ids = { ticket_id: safeText(), partner_id: safeText() };

export const TicketOpened = defineEvent({
  ...common,
  type: 'ticket.opened',
  version: 1,
  description: "A support ticket was opened; its SLA due time follows from the partner's tier and the priority.",
  data: z.object({
    ...ids,
    subject: safeText(),
    description: safeText(),
    priority: TicketPrioritySchema,
    opened_by: safeText(),
    partner_tier: safeText(),
    opened_at: safeDatetime({ offset: true }).describe('The SLA clock starts here'),
    sla_due_at: safeDatetime({ offset: true }),
  }),
});

export const TicketCommented = defineEvent({
  ...common,
  type: 'ticket.commented',
  version: 1,
  description: 'A comment was added by the partner or by platform support.',
  data: z.object({
    ...ids,
    comment_id: safeText(),
    author: safeText(),
    author_kind: z.enum(['partner', 'platform']),
    body: safeText(),
  }),
});

export const TicketAssigned = defineEvent({
  ...common,
  type: 'ticket.assigned',
  version: 1,
  description: 'The ticket was assigned to a support engineer (null = unassigned).',
  data: z.object({ ...ids, assignee: safeText().nullable(), previous_assignee: safeText().nullable() }),
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
    sla_due_at: safeDatetime({ offset: true }),
  }),
});

export const TicketStatusChanged = defineEvent({
  ...common,
  type: 'ticket.status_changed',
  version: 1,
  description: 'The ticket moved to another status.',
  data: z.object({ ...ids, status: TicketStatusSchema, previous_status: TicketStatusSchema, reason: safeText().nullable() }),
});

export const ticketEvents = [TicketOpened, TicketCommented, TicketAssigned, TicketPriorityChanged, TicketStatusChanged] as const;
