import { PARTNER_TIERS, type PartnerTier, TICKET_TRANSITIONS, type TicketPriority, type TicketStatus } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { TicketEvent, TicketState } from './ticket.ts';

/** SLA due time: opening time plus the tier's hours for the priority. */
export function slaDueAt(openedAt: Date | string, tier: PartnerTier, priority: TicketPriority): string {
  const hours = PARTNER_TIERS[tier].support_sla_hours[priority];
  return new Date(new Date(openedAt).getTime() + hours * 3_600_000).toISOString();
}

export type TicketCommand =
  | {
      type: 'OpenTicket';
      data: { ticket_id: string; partner_id: string; subject: string; description: string; priority: TicketPriority; opened_by: string };
      partner_tier: PartnerTier;
      now: Date;
    }
  | {
      type: 'CommentTicket';
      data: { ticket_id: string; comment_id: string; author: string; author_kind: 'partner' | 'platform'; body: string };
    }
  | { type: 'AssignTicket'; data: { ticket_id: string; assignee: string | null } }
  | { type: 'ChangeTicketPriority'; data: { ticket_id: string; priority: TicketPriority } }
  | { type: 'ChangeTicketStatus'; data: { ticket_id: string; status: TicketStatus; reason: string | null }; by: 'partner' | 'platform' };

function existing(state: TicketState | undefined, id: string): TicketState {
  if (!state) throw new NotFoundError(`ticket ${id} not found`);
  return state;
}
function notClosed(s: TicketState, action: string) {
  if (s.status === 'closed') throw new IllegalTransitionError(`cannot ${action} a closed ticket`);
}

/** Statuses a partner may move its own ticket to: close it, or reopen a resolved one. */
const PARTNER_STATUSES: readonly TicketStatus[] = ['closed', 'open'];

export function decideTicket(command: TicketCommand, state: TicketState | undefined): TicketEvent[] {
  switch (command.type) {
    case 'OpenTicket': {
      if (state) throw new ConflictError(`ticket ${command.data.ticket_id} already exists`);
      const d = command.data;
      return [
        {
          type: 'ticket.opened',
          data: {
            ...d,
            partner_tier: command.partner_tier,
            opened_at: command.now.toISOString(),
            sla_due_at: slaDueAt(command.now, command.partner_tier, d.priority),
          },
        },
      ];
    }
    case 'CommentTicket': {
      const s = existing(state, command.data.ticket_id);
      notClosed(s, 'comment on');
      return [{ type: 'ticket.commented', data: { ...command.data, partner_id: s.partner_id } }];
    }
    case 'AssignTicket': {
      const s = existing(state, command.data.ticket_id);
      notClosed(s, 'assign');
      if (s.assignee === command.data.assignee) return [];
      return [{ type: 'ticket.assigned', data: { ...command.data, partner_id: s.partner_id, previous_assignee: s.assignee } }];
    }
    case 'ChangeTicketPriority': {
      const s = existing(state, command.data.ticket_id);
      notClosed(s, 'reprioritise');
      if (s.priority === command.data.priority) return [];
      return [
        {
          type: 'ticket.priority_changed',
          data: {
            ...command.data,
            partner_id: s.partner_id,
            previous_priority: s.priority,
            sla_due_at: slaDueAt(s.created_at, s.partner_tier as PartnerTier, command.data.priority),
          },
        },
      ];
    }
    case 'ChangeTicketStatus': {
      const s = existing(state, command.data.ticket_id);
      const to = command.data.status;
      if (!TICKET_TRANSITIONS[s.status].includes(to)) {
        throw new IllegalTransitionError(`cannot move a ${s.status} ticket to ${to}`, {
          extensions: { current_status: s.status, allowed: TICKET_TRANSITIONS[s.status] },
        });
      }
      if (command.by === 'partner' && !PARTNER_STATUSES.includes(to)) {
        throw new IllegalTransitionError(`a partner may only close or reopen a ticket, not move it to ${to}`);
      }
      return [{ type: 'ticket.status_changed', data: { ...command.data, partner_id: s.partner_id, previous_status: s.status } }];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
