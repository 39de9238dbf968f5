import type { TicketPriority, TicketStatus } from '@pep/contracts';
import type { Jsonb } from '@pep/db';
import type { TicketState } from '../../domain/ticket/ticket.ts';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const TICKETS_PROJECTION = 'tickets';

export interface TicketsTable {
  id: string;
  partner_id: string;
  status: TicketStatus;
  priority: TicketPriority;
  doc: Jsonb<TicketState>;
}

export interface TicketsTables {
  tickets: TicketsTable;
}
