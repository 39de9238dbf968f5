import type {
  DataOf,
  PlatformEvent,
  Ticket,
  TicketAssigned,
  TicketCommented,
  TicketOpened,
  TicketPriorityChanged,
  TicketStatusChanged,
} from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

/** The ticket as stored (sla_breached is derived at read time, see `withSla`). */
export type TicketState = Omit<Ticket, 'sla_breached'>;

export type TicketEvent =
  | { type: 'ticket.opened'; data: DataOf<typeof TicketOpened> }
  | { type: 'ticket.commented'; data: DataOf<typeof TicketCommented> }
  | { type: 'ticket.assigned'; data: DataOf<typeof TicketAssigned> }
  | { type: 'ticket.priority_changed'; data: DataOf<typeof TicketPriorityChanged> }
  | { type: 'ticket.status_changed'; data: DataOf<typeof TicketStatusChanged> };

/** The events of this aggregate (a type guard: an evolve narrows to its own union instead of casting). */
export const isTicketEvent = eventsOfTypes<TicketEvent>([
  'ticket.opened',
  'ticket.commented',
  'ticket.assigned',
  'ticket.priority_changed',
  'ticket.status_changed',
]);

export const initialTicket = (): TicketState | undefined => undefined;

export function evolveTicket(state: TicketState | undefined, event: PlatformEvent & { seq?: number }): TicketState | undefined {
  if (!isTicketEvent(event)) return state;
  const e = event;
  const stamp = { version: event.seq ?? state?.version ?? 0, updated_at: event.time };
  if (e.type === 'ticket.opened') {
    if (state) return state;
    const { ticket_id, opened_at, ...d } = e.data;
    return {
      id: ticket_id,
      object: 'ticket',
      ...d,
      status: 'open',
      assignee: null,
      resolved_at: null,
      comments: [],
      created_at: opened_at,
      ...stamp,
    };
  }
  if (!state) return state;
  switch (e.type) {
    case 'ticket.commented':
      return {
        ...state,
        comments: [
          ...state.comments,
          { id: e.data.comment_id, author: e.data.author, author_kind: e.data.author_kind, body: e.data.body, created_at: event.time },
        ],
        ...stamp,
      };
    case 'ticket.assigned':
      return { ...state, assignee: e.data.assignee, ...stamp };
    case 'ticket.priority_changed':
      return { ...state, priority: e.data.priority, sla_due_at: e.data.sla_due_at, ...stamp };
    case 'ticket.status_changed':
      return {
        ...state,
        status: e.data.status,
        resolved_at: e.data.status === 'resolved' || e.data.status === 'closed' ? (state.resolved_at ?? event.time) : null,
        ...stamp,
      };
    default: {
      const never: never = e;
      return never;
    }
  }
}

/** Adds the read-time SLA flag: breached when not resolved by the due time. */
export function withSla(t: TicketState, now: Date): Ticket {
  const doneAt = t.resolved_at ? Date.parse(t.resolved_at) : now.getTime();
  return { ...t, sla_breached: doneAt > Date.parse(t.sla_due_at) };
}
