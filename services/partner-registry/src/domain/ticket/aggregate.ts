import type { AggregateKind } from '@pep/events';
import { TICKETS_PROJECTION } from '../../projections/tickets/table.ts';
import { evolveTicket, initialTicket, type TicketState } from './ticket.ts';

/** A support ticket, as the command bus loads and appends it (`<prefix>.agg.ticket.<id>`); commands wait for its read model. */
export const ticketAggregate: AggregateKind<TicketState | undefined> = {
  kind: 'ticket',
  initial: initialTicket,
  evolve: evolveTicket,
  projection: TICKETS_PROJECTION,
};
