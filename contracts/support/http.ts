import { z } from 'zod';
import { PageQuerySchema, pageOf } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';
import { TicketPrioritySchema, TicketStatusSchema } from './events.ts';

export const TicketCommentSchema = z
  .object({ id: z.string(), author: z.string(), author_kind: z.enum(['partner', 'platform']), body: z.string(), created_at: z.string() })
  .meta({ id: 'TicketComment' });

export const TicketSchema = z
  .object({
    id: z.string(),
    object: z.literal('ticket'),
    partner_id: z.string(),
    subject: z.string(),
    description: z.string(),
    priority: TicketPrioritySchema,
    status: TicketStatusSchema,
    assignee: z.string().nullable(),
    opened_by: z.string(),
    partner_tier: z.string(),
    sla_due_at: z.string(),
    sla_breached: z.boolean().describe('Not resolved or closed by the SLA due time (derived at read time)'),
    resolved_at: z.string().nullable(),
    comments: z.array(TicketCommentSchema),
    version: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: 'Ticket' });
export type Ticket = z.output<typeof TicketSchema>;

export const OpenTicketBody = z
  .object({
    subject: z.string().trim().min(1).max(300),
    description: z.string().trim().min(1).max(20_000),
    priority: TicketPrioritySchema.default('normal'),
    partner_id: z.string().min(1).max(64).optional().describe('Required for admin credentials'),
  })
  .strict()
  .meta({ id: 'OpenTicket' });
export const CommentTicketBody = z
  .object({ body: z.string().trim().min(1).max(20_000) })
  .strict()
  .meta({ id: 'CommentTicket' });
export const AssignTicketBody = z
  .object({ assignee: z.string().trim().min(1).max(200).nullable() })
  .strict()
  .meta({ id: 'AssignTicket' });
export const TicketPriorityBody = z.object({ priority: TicketPrioritySchema }).strict().meta({ id: 'ChangeTicketPriority' });
export const TicketStatusBody = z
  .object({ status: TicketStatusSchema, reason: z.string().trim().min(1).max(1000).optional() })
  .strict()
  .meta({ id: 'ChangeTicketStatus' });

const IdParams = z.object({ id: z.string().min(1).max(64) });
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
      partner_id: z.string().max(64).optional(),
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
    params: IdParams,
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
    params: IdParams,
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
    params: IdParams,
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
    params: IdParams,
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
    params: IdParams,
    body: TicketStatusBody,
    success: ticketReply,
    errors: [409],
  },
]);
