import type { StoredEvent, Ticket, TicketPriority, TicketStatus } from '@pep/contracts';
import { aggregateFilter, foldBatch, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolveTicket, isTicketEvent, withSla } from '../../domain/ticket/ticket.ts';
import { TICKETS_PROJECTION } from './table.ts';

/** Folds a batch with the aggregate's own `evolveTicket` and writes the touched rows back. */
export async function applyTicketEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  await foldBatch(events, {
    handles: isTicketEvent,
    idOf: (e) => e.data.ticket_id,
    load: async (ids) =>
      (await trx.selectFrom('tickets').select(['id', 'doc']).where('id', 'in', ids).execute()).map((r) => [r.id, r.doc] as const),
    evolve: evolveTicket,
    save: async (tickets) => {
      await trx
        .insertInto('tickets')
        .values(
          tickets.map((t) => ({ id: t.id, partner_id: t.partner_id, status: t.status, priority: t.priority, doc: JSON.stringify(t) })),
        )
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            priority: eb.ref('excluded.priority'),
            doc: eb.ref('excluded.doc'),
          })),
        )
        .execute();
    },
  });
}

export function ticketsProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: TICKETS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'ticket'),
    apply: applyTicketEvents,
    async reset(trx) {
      await trx.deleteFrom('tickets').execute();
    },
  };
}

export async function findTicket(db: Kysely<RegistryDB>, id: string, now: Date): Promise<Ticket | undefined> {
  const row = await db.selectFrom('tickets').select('doc').where('id', '=', id).executeTakeFirst();
  return row ? withSla(row.doc, now) : undefined;
}

export async function listTickets(
  db: Kysely<RegistryDB>,
  q: { limit: number; starting_after?: string; partner_id?: string; status?: TicketStatus; priority?: TicketPriority },
  now: Date,
): Promise<{ data: Ticket[]; has_more: boolean }> {
  let query = db
    .selectFrom('tickets')
    .select(['id', 'doc'])
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('id', '>', q.starting_after);
  if (q.partner_id !== undefined) query = query.where('partner_id', '=', q.partner_id);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.priority) query = query.where('priority', '=', q.priority);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map((r) => withSla(r.doc, now)), has_more: rows.length > q.limit };
}
