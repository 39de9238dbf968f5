import { describe, expect, it } from 'vitest';
import { decideTicket, slaDueAt } from '../src/domain/ticket/decide.ts';
import { evolveTicket, type TicketEvent, type TicketState, withSla } from '../src/domain/ticket/ticket.ts';

const opened: TicketEvent = {
  type: 'ticket.opened',
  data: {
    ticket_id: 'tkt_1',
    partner_id: 'prt_1',
    subject: 'Webhooks late',
    description: '...',
    priority: 'high',
    opened_by: 'key_1',
    partner_tier: 'premium',
    opened_at: '2026-01-01T00:00:00.000Z',
    sla_due_at: slaDueAt('2026-01-01T00:00:00Z', 'premium', 'high'),
  },
};
const fold = (...events: TicketEvent[]) =>
  events.reduce<TicketState | undefined>(
    (s, e, i) =>
      evolveTicket(s, {
        specversion: '1.0',
        id: `e${i}`,
        source: 't',
        type: e.type,
        time: '2026-01-01T00:00:00.000Z',
        datacontenttype: 'application/json',
        schemaversion: 1,
        data: e.data,
        seq: i + 1,
      }),
    undefined,
  );

describe('support ticket SLA and transitions', () => {
  it('derives the SLA due time from tier and priority, and recomputes it on a priority change', () => {
    expect(slaDueAt('2026-01-01T00:00:00Z', 'standard', 'normal')).toBe('2026-01-04T00:00:00.000Z');
    expect(slaDueAt('2026-01-01T00:00:00Z', 'enterprise', 'urgent')).toBe('2026-01-01T01:00:00.000Z');
    const [changed] = decideTicket({ type: 'ChangeTicketPriority', data: { ticket_id: 'tkt_1', priority: 'urgent' } }, fold(opened));
    expect(changed).toMatchObject({ data: { previous_priority: 'high', sla_due_at: '2026-01-01T04:00:00.000Z' } });
  });

  it('flags a breach only when unresolved past the due time', () => {
    const t = fold(opened) as TicketState;
    expect(withSla(t, new Date('2026-01-01T07:59:00Z')).sla_breached).toBe(false);
    expect(withSla(t, new Date('2026-01-01T08:01:00Z')).sla_breached).toBe(true);
    const resolved = fold(opened, {
      type: 'ticket.status_changed',
      data: { ticket_id: 'tkt_1', partner_id: 'prt_1', status: 'resolved', previous_status: 'open', reason: null },
    }) as TicketState;
    expect(withSla(resolved, new Date('2026-02-01T00:00:00Z')).sla_breached).toBe(false);
  });

  it('refuses transitions outside the workflow and partner moves other than close/reopen', () => {
    const t = fold(opened);
    expect(() =>
      decideTicket({ type: 'ChangeTicketStatus', data: { ticket_id: 'tkt_1', status: 'in_progress', reason: null }, by: 'partner' }, t),
    ).toThrow(/only close or reopen/);
    const closed = fold(opened, {
      type: 'ticket.status_changed',
      data: { ticket_id: 'tkt_1', partner_id: 'prt_1', status: 'closed', previous_status: 'open', reason: null },
    });
    expect(() =>
      decideTicket({ type: 'ChangeTicketStatus', data: { ticket_id: 'tkt_1', status: 'open', reason: null }, by: 'platform' }, closed),
    ).toThrow(/cannot move a closed ticket/);
  });
});
