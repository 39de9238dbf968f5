import {
  AssignTicketBody,
  CommentTicketBody,
  OpenTicketBody,
  PageQuerySchema,
  type RpcRequest,
  type Ticket,
  TicketPriorityBody,
  TicketPrioritySchema,
  TicketStatusBody,
  TicketStatusSchema,
} from '@pep/contracts';
import { ForbiddenError, NotFoundError, newId, parseOrThrow } from '@pep/runtime';
import { actingPartner, assertVisible, handler, isAdmin, listScope, ok, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { metaFrom } from '../app/command-bus.ts';
import { decideTicket, type TicketCommand } from '../domain/ticket/decide.ts';
import { type TicketState, withSla } from '../domain/ticket/ticket.ts';
import { findTicket, listTickets } from '../projections/tickets/index.ts';
import type { HandlerDeps } from './deps.ts';
import { partnerAggregate } from '../domain/partner/aggregate.ts';
import { ticketAggregate } from '../domain/ticket/aggregate.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const ListQuery = PageQuerySchema.extend({
  status: TicketStatusSchema.optional(),
  priority: TicketPrioritySchema.optional(),
  partner_id: z.string().max(64).optional(),
});
type Req = RpcRequest<unknown, unknown, unknown>;

export function ticketHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);

  const visible = async (req: Req, id: string): Promise<TicketState> => {
    const s = (await deps.commands.load(ticketAggregate, id)).state;
    if (!s) throw new NotFoundError(`ticket ${id} not found`);
    assertVisible(req.principal, s.partner_id, `ticket ${id}`);
    return s;
  };
  const execute = async (req: Req, id: string, partnerId: string, command: TicketCommand): Promise<Ticket> => {
    const r = await deps.commands.execute(ticketAggregate, id, metaFrom(req, partnerId), (s) => decideTicket(command, s));
    if (!r.state) throw new NotFoundError(`ticket ${id} not found`);
    return withSla(r.state, deps.now());
  };
  const onTicket = (build: (req: Req, t: TicketState) => TicketCommand, status = 200): RpcHandler =>
    h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const t = await visible(req, id);
      return ok(await execute(req, id, t.partner_id, build(req, t)), status);
    });
  const adminOnly = (req: Req) => {
    if (!isAdmin(req.principal)) throw new ForbiddenError('only platform support (admin credential) may do this');
  };

  return {
    'tickets.open': h(async (req) => {
      const body = parseOrThrow(OpenTicketBody, req.body);
      const partnerId = actingPartner(req.principal, body.partner_id);
      const partner = (await deps.commands.load(partnerAggregate, partnerId)).state;
      if (!partner) throw new NotFoundError(`partner ${partnerId} not found`);
      const now = deps.now();
      const id = newId('tkt', now.getTime());
      const ticket = await execute(req, id, partnerId, {
        type: 'OpenTicket',
        data: {
          ticket_id: id,
          partner_id: partnerId,
          subject: body.subject,
          description: body.description,
          priority: body.priority,
          opened_by: req.principal.credential_id,
        },
        partner_tier: partner.tier,
        now,
      });
      return ok(ticket, 201);
    }),
    'tickets.get': h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      const t = await findTicket(deps.db, id, deps.now());
      if (!t) throw new NotFoundError(`ticket ${id} not found`);
      assertVisible(req.principal, t.partner_id, `ticket ${id}`);
      return ok(t);
    }),
    'tickets.list': h(async (req) => {
      const q = parseOrThrow(ListQuery, req.query ?? {});
      return ok(await listTickets(deps.db, { ...q, partner_id: listScope(req.principal, q.partner_id) }, deps.now()));
    }),
    'tickets.comment': onTicket(
      (req, t) => ({
        type: 'CommentTicket',
        data: {
          ticket_id: t.id,
          comment_id: newId('cmt', deps.now().getTime()),
          author: req.principal.credential_id,
          author_kind: isAdmin(req.principal) ? 'platform' : 'partner',
          body: parseOrThrow(CommentTicketBody, req.body).body,
        },
      }),
      201,
    ),
    'tickets.assign': onTicket((req, t) => {
      adminOnly(req);
      return { type: 'AssignTicket', data: { ticket_id: t.id, assignee: parseOrThrow(AssignTicketBody, req.body).assignee } };
    }),
    'tickets.priority': onTicket((req, t) => {
      adminOnly(req);
      return { type: 'ChangeTicketPriority', data: { ticket_id: t.id, priority: parseOrThrow(TicketPriorityBody, req.body).priority } };
    }),
    'tickets.status': onTicket((req, t) => {
      const b = parseOrThrow(TicketStatusBody, req.body);
      return {
        type: 'ChangeTicketStatus',
        data: { ticket_id: t.id, status: b.status, reason: b.reason ?? null },
        by: isAdmin(req.principal) ? 'platform' : 'partner',
      };
    }),
  };
}
