import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { idParams, PlatformId } from '../common/ids.ts';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { TicketPrioritySchema, TicketStatusSchema } from './events.ts';

export const TicketCommentSchema = z
  .object({ id: safeText(), author: safeText(), author_kind: z.enum(['partner', 'platform']), body: safeText(), created_at: safeText() })
  .meta({ id: 'TicketComment' });

export const TicketSchema = z
  .object({
    id: safeText(),
    object: z.literal('ticket'),
    partner_id: safeText(),
    subject: safeText(),
    description: safeText(),
    priority: TicketPrioritySchema,
    status: TicketStatusSchema,
    assignee: safeText().nullable(),
    opened_by: safeText(),
    partner_tier: safeText(),
    sla_due_at: safeText(),
    sla_breached: z.boolean().describe('Not resolved or closed by the SLA due time (derived at read time)'),
    resolved_at: safeText().nullable(),
    comments: z.array(TicketCommentSchema),
    version: z.number().int(),
    created_at: safeText(),
    updated_at: safeText(),
  })
  .meta({ id: 'Ticket' });
export type Ticket = z.output<typeof TicketSchema>;

export const OpenTicketBody = z
  .object({
    subject: safeText().trim().min(1).max(300),
    description: safeText().trim().min(1).max(20_000),
    priority: TicketPrioritySchema.default('normal'),
    partner_id: PlatformId('prt').optional().describe('Required for admin credentials'),
  })
  .strict()
  .meta({ id: 'OpenTicket' });
export const CommentTicketBody = z
  .object({ body: safeText().trim().min(1).max(20_000) })
  .strict()
  .meta({ id: 'CommentTicket' });
export const AssignTicketBody = z
  .object({ assignee: safeText().trim().min(1).max(200).nullable() })
  .strict()
  .meta({ id: 'AssignTicket' });
export const TicketPriorityBody = z.object({ priority: TicketPrioritySchema }).strict().meta({ id: 'ChangeTicketPriority' });
export const TicketStatusBody = z
  .object({ status: TicketStatusSchema, reason: safeText().trim().min(1).max(1000).optional() })
  .strict()
  .meta({ id: 'ChangeTicketStatus' });

const base = { tag: 'Support', service: 'partner-registry' } as const;
const ticketReply = { status: 200, schema: TicketSchema };

export const supportRoutes = defineRoutes([
  {
    ...base,
    operationId: 'openTicket',
    method: 'POST',
    path: '/v1/support/tickets',
    summary: 'Open a support ticket',
    pattern: 'tickets.open',
    scope: 'write:support',
    body: OpenTicketBody,
    success: { status: 201, schema: TicketSchema },
  },
  {
    ...base,
    operationId: 'listTickets',
    method: 'GET',
    path: '/v1/support/tickets',
    summary: 'List tickets (a partner sees only its own)',
    pattern: 'tickets.list',
    scope: 'read:support',
    query: PageQuerySchema.extend({
      status: TicketStatusSchema.optional(),
      priority: TicketPrioritySchema.optional(),
      partner_id: PlatformId('prt').optional(),
    }),
    success: { status: 200, schema: pageOf(TicketSchema) },
  },
  {
    ...base,
    operationId: 'getTicket',
    method: 'GET',
    path: '/v1/support/tickets/:id',
    summary: 'Get a ticket with its comments',
    pattern: 'tickets.get',
    scope: 'read:support',
    params: idParams('tkt'),
    success: ticketReply,
  },
  {
    ...base,
    operationId: 'commentTicket',
    method: 'POST',
    path: '/v1/support/tickets/:id/comments',
    summary: 'Add a comment',
    pattern: 'tickets.comment',
    scope: 'write:support',
    params: idParams('tkt'),
    body: CommentTicketBody,
    success: { status: 201, schema: TicketSchema },
    errors: [409],
  },
  {
    ...base,
    operationId: 'assignTicket',
    method: 'POST',
    path: '/v1/support/tickets/:id/assign',
    summary: 'Assign the ticket to a support engineer',
    pattern: 'tickets.assign',
    scope: 'admin',
    adminOnly: true,
    params: idParams('tkt'),
    body: AssignTicketBody,
    success: ticketReply,
    errors: [409],
  },
  {
    ...base,
    operationId: 'changeTicketPriority',
    method: 'POST',
    path: '/v1/support/tickets/:id/priority',
    summary: 'Change the priority (recomputes the SLA due time)',
    pattern: 'tickets.priority',
    scope: 'admin',
    adminOnly: true,
    params: idParams('tkt'),
    body: TicketPriorityBody,
    success: ticketReply,
    errors: [409],
  },
  {
    ...base,
    operationId: 'changeTicketStatus',
    method: 'POST',
    path: '/v1/support/tickets/:id/status',
    summary: 'Move the ticket to another status (a partner may only close or reopen its own)',
    pattern: 'tickets.status',
    scope: 'write:support',
    params: idParams('tkt'),
    body: TicketStatusBody,
    success: ticketReply,
    errors: [409],
  },
]);
