import type { PlatformEvent } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
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

describe('partner contacts and agreements', () => {
  const sign = (over: Partial<Extract<PartnerCommand, { type: 'SignAgreement' }>['data']> = {}): PartnerCommand => ({
    type: 'SignAgreement',
    data: {
      partner_id: id,
      agreement_id: 'agr_1',
      title: 'Reseller agreement',
      signed_by: 'Jane Doe',
      signed_at: '2026-01-01T00:00:00.000Z',
      effective_at: '2026-02-01T00:00:00.000Z',
      expires_at: '2027-02-01T00:00:00.000Z',
      revenue_share: { first_year_pct: 20, renewal_pct: 10 },
      ...over,
    },
  });

  it('versions agreements: each new one supersedes the previous', () => {
    const [v1] = decidePartner(sign(), given(created));
    expect(v1).toMatchObject({
      type: 'partner.agreement_signed',
      data: { version: 1, supersedes: null, revenue_share: { first_year_pct: 20 } },
    });
    const [v2] = decidePartner(
      sign({ agreement_id: 'agr_2', effective_at: '2027-02-01T00:00:00.000Z', expires_at: null }),
      given(created, v1 as PartnerEvent),
    );
    expect(v2).toMatchObject({ data: { version: 2, supersedes: 'agr_1', expires_at: null } });
  });

  it('refuses an agreement that expires before it takes effect, or takes effect before the current version', () => {
    expect(() => decidePartner(sign({ expires_at: '2026-01-15T00:00:00.000Z' }), given(created))).toThrow(ValidationError);
    const [v1] = decidePartner(sign(), given(created));
    expect(() =>
      decidePartner(
        sign({ agreement_id: 'agr_2', effective_at: '2026-01-15T00:00:00.000Z', expires_at: null }),
        given(created, v1 as PartnerEvent),
      ),
    ).toThrow(ValidationError);
    expect(() => decidePartner(sign(), given(created, terminated))).toThrow(IllegalTransitionError);
  });

  it('adds contacts with roles once per role, and removes only existing ones', () => {
    const add: PartnerCommand = {
      type: 'AddContact',
      data: { partner_id: id, contact_id: 'ctc_1', name: 'Ann', email: 'ann@acme.test', role: 'technical' },
    };
    const [added] = decidePartner(add, given(created));
    const s = given(created, added as PartnerEvent);
    expect(s?.contacts).toMatchObject([{ contact_id: 'ctc_1', role: 'technical' }]);
    expect(() => decidePartner({ ...add, data: { ...add.data, contact_id: 'ctc_2', email: 'ANN@acme.test' } }, s)).toThrow(ConflictError);
    expect(decidePartner({ ...add, data: { ...add.data, contact_id: 'ctc_2', role: 'billing' } }, s)).toHaveLength(1);
    expect(() => decidePartner({ type: 'RemoveContact', data: { partner_id: id, contact_id: 'ctc_x' } }, s)).toThrow(NotFoundError);
    const [removed] = decidePartner({ type: 'RemoveContact', data: { partner_id: id, contact_id: 'ctc_1' } }, s);
    expect(given(created, added as PartnerEvent, removed as PartnerEvent)?.contacts).toEqual([]);
  });
});
