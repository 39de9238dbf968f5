import type { Partner, Ticket } from '@pep/contracts';
import { testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partnerPrincipal, type Registry, startRegistry, statusOf } from './support/registry.ts';

const names = testNames('tkt');
let reg: Registry;
let premium: Partner;
let other: Partner;
beforeAll(async () => {
  reg = await startRegistry(names);
  premium = await reg.ok<Partner>('partners.create', admin, {
    body: { name: 'P', type: 'strategic', contact_email: 'p@p.test', tier: 'premium' },
  });
  other = await reg.ok<Partner>('partners.create', admin, { body: { name: 'O', type: 'reseller', contact_email: 'o@o.test' } });
});
afterAll(async () => {
  await reg?.stop();
});

describe('support tickets', () => {
  it('opens with a tier SLA, takes comments, assignment, priority and status changes; a partner sees only its own', async () => {
    const me = partnerPrincipal(premium.id);
    const t = await reg.ok<Ticket>('tickets.open', me, {
      body: { subject: 'Deliveries delayed', description: 'since 10:00', priority: 'high' },
    });
    expect(t).toMatchObject({ object: 'ticket', status: 'open', partner_id: premium.id, priority: 'high', sla_breached: false });
    expect(Date.parse(t.sla_due_at) - Date.parse(t.created_at)).toBe(8 * 3_600_000);

    await reg.ok('tickets.comment', me, { params: { id: t.id }, body: { body: 'still happening' } });
    await reg.ok('tickets.assign', admin, { params: { id: t.id }, body: { assignee: 'sre-anna' } });
    const urgent = await reg.ok<Ticket>('tickets.priority', admin, { params: { id: t.id }, body: { priority: 'urgent' } });
    expect(Date.parse(urgent.sla_due_at) - Date.parse(t.created_at)).toBe(4 * 3_600_000);
    await reg.ok('tickets.status', admin, { params: { id: t.id }, body: { status: 'in_progress' } });
    await reg.ok('tickets.comment', admin, { params: { id: t.id }, body: { body: 'fixed a stuck consumer' } });
    await reg.ok('tickets.status', admin, { params: { id: t.id }, body: { status: 'resolved' } });
    const reopened = await reg.ok<Ticket>('tickets.status', me, { params: { id: t.id }, body: { status: 'open', reason: 'again' } });
    expect(reopened.status).toBe('open');
    const closed = await reg.ok<Ticket>('tickets.status', me, { params: { id: t.id }, body: { status: 'closed' } });
    expect(closed).toMatchObject({ status: 'closed', assignee: 'sre-anna', priority: 'urgent' });
    expect(closed.comments.map((c) => [c.author_kind, c.body])).toEqual([
      ['partner', 'still happening'],
      ['platform', 'fixed a stuck consumer'],
    ]);
    expect(await reg.ok('tickets.get', me, { params: { id: t.id } })).toEqual(closed);

    expect(statusOf(await reg.call('tickets.status', admin, { params: { id: t.id }, body: { status: 'in_progress' } }))).toBe(409);
    expect(statusOf(await reg.call('tickets.assign', me, { params: { id: t.id }, body: { assignee: 'me' } }))).toBe(403);

    const them = partnerPrincipal(other.id);
    for (const [pattern, body] of [
      ['tickets.get', undefined],
      ['tickets.comment', { body: 'x' }],
      ['tickets.status', { status: 'closed' }],
    ] as const) {
      expect(statusOf(await reg.call(pattern, them, { params: { id: t.id }, body })), pattern).toBe(404);
    }
    await reg.ok('tickets.open', them, { body: { subject: 'mine', description: 'd' } });
    const theirs = await reg.ok<{ data: Ticket[] }>('tickets.list', them, { query: { partner_id: premium.id } });
    expect(theirs.data.map((x) => x.partner_id)).toEqual([other.id]);
    expect(statusOf(await reg.call('tickets.open', admin, { body: { subject: 's', description: 'd' } }))).toBe(422);
  });
});
