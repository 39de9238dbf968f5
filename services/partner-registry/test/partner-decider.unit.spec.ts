import type { PlatformEvent } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError } from '@pep/runtime';
import { describe, expect, it } from 'vitest';
import { decidePartner, type PartnerCommand } from '../src/domain/partner/decide.ts';
import { evolvePartner, type PartnerEvent, type PartnerState } from '../src/domain/partner/partner.ts';

const id = 'prt_1';
let seq = 0;
const stored = (e: PartnerEvent): PlatformEvent & { seq: number } => ({
  specversion: '1.0',
  id: `evt_${++seq}`,
  source: 'test',
  type: e.type,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data: e.data,
  seq,
});
const given = (...events: PartnerEvent[]): PartnerState | undefined =>
  events.map(stored).reduce<PartnerState | undefined>(evolvePartner, undefined);

const created: PartnerEvent = {
  type: 'partner.created',
  data: { partner_id: id, name: 'Acme', type: 'technology', contact_email: 'a@acme.test', tier: 'standard' },
};
const activated: PartnerEvent = { type: 'partner.activated', data: { partner_id: id } };
const suspended: PartnerEvent = { type: 'partner.suspended', data: { partner_id: id, reason: 'unpaid' } };
const terminated: PartnerEvent = { type: 'partner.terminated', data: { partner_id: id, reason: 'ended' } };

describe('partner decider', () => {
  it('creates a pending partner', () => {
    const cmd: PartnerCommand = { type: 'CreatePartner', data: created.data as Extract<PartnerCommand, { type: 'CreatePartner' }>['data'] };
    const events = decidePartner(cmd, given());
    expect(events).toEqual([created]);
    expect(given(...events)).toMatchObject({ id, status: 'pending', status_reason: null, version: expect.any(Number) });
    expect(() => decidePartner(cmd, given(created))).toThrow(ConflictError);
  });

  it('emits only the fields that change, and nothing when nothing changes', () => {
    expect(decidePartner({ type: 'UpdatePartner', data: { partner_id: id, name: 'Acme', tier: 'premium' } }, given(created))).toEqual([
      { type: 'partner.updated', data: { partner_id: id, tier: 'premium' } },
    ]);
    expect(decidePartner({ type: 'UpdatePartner', data: { partner_id: id, name: 'Acme' } }, given(created))).toEqual([]);
    expect(() => decidePartner({ type: 'UpdatePartner', data: { partner_id: id, name: 'X' } }, given())).toThrow(NotFoundError);
  });

  it('walks the lifecycle pending → active → suspended → active → terminated', () => {
    expect(decidePartner({ type: 'ActivatePartner', data: { partner_id: id } }, given(created))).toEqual([activated]);
    expect(decidePartner({ type: 'SuspendPartner', data: { partner_id: id, reason: 'unpaid' } }, given(created, activated))).toEqual([
      suspended,
    ]);
    const s = given(created, activated, suspended);
    expect(s).toMatchObject({ status: 'suspended', status_reason: 'unpaid' });
    expect(decidePartner({ type: 'ActivatePartner', data: { partner_id: id } }, s)).toEqual([activated]);
    expect(decidePartner({ type: 'TerminatePartner', data: { partner_id: id, reason: 'ended' } }, s)).toEqual([terminated]);
  });

  it('refuses illegal transitions with IllegalTransitionError', () => {
    const dead = given(created, activated, terminated);
    expect(() => decidePartner({ type: 'SuspendPartner', data: { partner_id: id, reason: 'x' } }, dead)).toThrow(IllegalTransitionError);
    expect(() => decidePartner({ type: 'ActivatePartner', data: { partner_id: id } }, dead)).toThrow(IllegalTransitionError);
    expect(() => decidePartner({ type: 'UpdatePartner', data: { partner_id: id, name: 'Y' } }, dead)).toThrow(IllegalTransitionError);
    expect(() => decidePartner({ type: 'TerminatePartner', data: { partner_id: id, reason: 'x' } }, dead)).toThrow(IllegalTransitionError);
    expect(() => decidePartner({ type: 'SuspendPartner', data: { partner_id: id, reason: 'x' } }, given(created))).toThrow(
      IllegalTransitionError,
    );
    expect(() => decidePartner({ type: 'ActivatePartner', data: { partner_id: id } }, given(created, activated))).toThrow(
      IllegalTransitionError,
    );
  });

  it('folds version and updated_at from the stored events', () => {
    const s = given(created, { type: 'partner.updated', data: { partner_id: id, contact_email: 'b@acme.test' } });
    expect(s?.contact_email).toBe('b@acme.test');
    expect(s?.version).toBe(seq);
    expect((s?.updated_at ?? '') > (s?.created_at ?? '')).toBe(true);
  });
});
