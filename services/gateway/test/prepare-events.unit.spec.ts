import type { Principal } from '@pep/contracts';
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_EVENTS, prepareEvents } from '../src/events/prepare-events.ts';

const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'admin_env' };
const partner: Principal = { kind: 'partner', partner_id: 'prt_1', scopes: ['write:events'], credential_id: 'key_1' };
const now = new Date('2026-01-01T12:00:00.000Z');
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const opts = (principal: Principal = admin) => ({ principal, subjectPrefix: 'p', traceparent: TP, now });
const lead = (id: string, data: Record<string, unknown> = { lead_id: 'l1', email: 'a@example.com' }) => ({
  specversion: '1.0',
  id,
  source: 'crm',
  type: 'lead.created',
  data,
});

describe('prepareEvents', () => {
  it('accepts one event, fills time and trace context, and keys dedupe by tenant', () => {
    const { specversion: _omit, ...noSpec } = lead('e1');
    const r = prepareEvents(noSpec, opts());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.events).toHaveLength(1);
    const [e] = r.events;
    expect(e?.event).toMatchObject({ specversion: '1.0', time: now.toISOString(), traceparent: TP, schemaversion: 1 });
    expect(e?.subject).toBe('p.ext._.lead.created');
    expect(e?.dedupeKey).toBe('_:e1');
  });

  it('lets an admin name the tenant', () => {
    const r = prepareEvents({ ...lead('e1'), partnerid: 'prt_9' }, opts());
    expect(r.ok && r.events[0]).toMatchObject({ subject: 'p.ext.prt_9.lead.created', dedupeKey: 'prt_9:e1' });
  });

  it("stamps a partner credential's events with its partner id and refuses another tenant's id", () => {
    const ok = prepareEvents(lead('e1'), opts(partner));
    expect(ok.ok && ok.events[0]?.event.partnerid).toBe('prt_1');
    expect(ok.ok && ok.events[0]?.subject).toBe('p.ext.prt_1.lead.created');
    const bad = prepareEvents({ ...lead('e1'), partnerid: 'prt_2' }, opts(partner));
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problem.status).toBe(422);
    expect(bad.problem.errors).toEqual([expect.objectContaining({ index: 0, path: 'partnerid' })]);
  });

  it('rejects the whole batch when one event is invalid, naming its index and field', () => {
    const r = prepareEvents([lead('e1'), lead('e2', { lead_id: 'l2', email: 'not-an-email' }), lead('e3')], opts());
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.status).toBe(422);
    expect(r.problem.errors).toEqual([expect.objectContaining({ index: 1, path: 'data.email' })]);
  });

  it('names unknown types, unknown schema versions, missing attributes and non-objects', () => {
    const r = prepareEvents(
      [{ ...lead('e1'), type: 'lead.teleported' }, { ...lead('e2'), schemaversion: 99 }, { type: 'lead.created', data: {} }, 'hello'],
      opts(),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const errors = r.problem.errors as { index: number; path: string }[];
    expect(errors).toContainEqual(expect.objectContaining({ index: 0, path: 'type' }));
    expect(errors).toContainEqual(expect.objectContaining({ index: 1, path: 'schemaversion' }));
    expect(errors).toContainEqual(expect.objectContaining({ index: 2, path: 'id' }));
    expect(errors).toContainEqual(expect.objectContaining({ index: 2, path: 'source' }));
    expect(errors).toContainEqual(expect.objectContaining({ index: 3, path: '' }));
  });

  it('refuses domain events: only external types may come through the gateway', () => {
    const r = prepareEvents(
      {
        ...lead('e1'),
        type: 'partner.created',
        data: { partner_id: 'p', name: 'n', type: 'technology', contact_email: 'a@b.co', tier: 'standard' },
      },
      opts(),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.errors).toEqual([
      expect.objectContaining({ index: 0, path: 'type', message: expect.stringContaining('domain event') }),
    ]);
  });

  it('enforces the batch limits: at least one event, at most 500', () => {
    const empty = prepareEvents([], opts());
    expect(!empty.ok && empty.problem.status).toBe(422);
    const full = prepareEvents(
      Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => lead(`e${i}`)),
      opts(),
    );
    expect(full.ok && full.events.length).toBe(MAX_BATCH_EVENTS);
    const over = prepareEvents(
      Array.from({ length: MAX_BATCH_EVENTS + 1 }, (_, i) => lead(`e${i}`)),
      opts(),
    );
    expect(!over.ok && over.problem.status).toBe(413);
  });

  it('keeps a trace context the event already carries', () => {
    const own = '00-11111111111111111111111111111111-2222222222222222-01';
    const r = prepareEvents({ ...lead('e1'), traceparent: own }, opts());
    expect(r.ok && r.events[0]?.event.traceparent).toBe(own);
  });

  it('refuses a partner id that cannot be a subject token', () => {
    const r = prepareEvents({ ...lead('e1'), partnerid: 'a.b' }, opts());
    expect(!r.ok && r.problem.errors).toEqual([expect.objectContaining({ index: 0, path: 'partnerid' })]);
  });
});
