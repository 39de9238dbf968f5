import type { PlatformEvent } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import { deciderSpec } from '@pep/testing';
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
const partners = deciderSpec<PartnerState | undefined, PartnerCommand, PartnerEvent>({
  decide: decidePartner,
  evolve: (s, e) => evolvePartner(s, stored(e)),
  initialState: () => undefined,
});

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
    const events = partners.given().when(cmd).events();
    expect(events).toEqual([created]);
    expect(partners.given([...events]).state).toMatchObject({ id, status: 'pending', status_reason: null, version: expect.any(Number) });
    expect(() => partners.given([created]).when(cmd).events()).toThrow(ConflictError);
  });

  it('emits only the fields that change, and nothing when nothing changes', () => {
    expect(
      partners
        .given([created])
        .when({ type: 'UpdatePartner', data: { partner_id: id, name: 'Acme', tier: 'premium' } })
        .events(),
    ).toEqual([{ type: 'partner.updated', data: { partner_id: id, tier: 'premium' } }]);
    expect(
      partners
        .given([created])
        .when({ type: 'UpdatePartner', data: { partner_id: id, name: 'Acme' } })
        .events(),
    ).toEqual([]);
    expect(() =>
      partners
        .given()
        .when({ type: 'UpdatePartner', data: { partner_id: id, name: 'X' } })
        .events(),
    ).toThrow(NotFoundError);
  });

  it('walks the lifecycle pending → active → suspended → active → terminated', () => {
    expect(
      partners
        .given([created])
        .when({ type: 'ActivatePartner', data: { partner_id: id } })
        .events(),
    ).toEqual([activated]);
    expect(
      partners
        .given([created, activated])
        .when({ type: 'SuspendPartner', data: { partner_id: id, reason: 'unpaid' } })
        .events(),
    ).toEqual([suspended]);
    const s = partners.given([created, activated, suspended]);
    expect(s.state).toMatchObject({ status: 'suspended', status_reason: 'unpaid' });
    expect(s.when({ type: 'ActivatePartner', data: { partner_id: id } }).events()).toEqual([activated]);
    expect(s.when({ type: 'TerminatePartner', data: { partner_id: id, reason: 'ended' } }).events()).toEqual([terminated]);
  });

  it('refuses illegal transitions with IllegalTransitionError', () => {
    const dead = partners.given([created, activated, terminated]);
    expect(() => dead.when({ type: 'SuspendPartner', data: { partner_id: id, reason: 'x' } }).events()).toThrow(IllegalTransitionError);
    expect(() => dead.when({ type: 'ActivatePartner', data: { partner_id: id } }).events()).toThrow(IllegalTransitionError);
    expect(() => dead.when({ type: 'UpdatePartner', data: { partner_id: id, name: 'Y' } }).events()).toThrow(IllegalTransitionError);
    expect(() => dead.when({ type: 'TerminatePartner', data: { partner_id: id, reason: 'x' } }).events()).toThrow(IllegalTransitionError);
    expect(() =>
      partners
        .given([created])
        .when({ type: 'SuspendPartner', data: { partner_id: id, reason: 'x' } })
        .events(),
    ).toThrow(IllegalTransitionError);
    expect(() =>
      partners
        .given([created, activated])
        .when({ type: 'ActivatePartner', data: { partner_id: id } })
        .events(),
    ).toThrow(IllegalTransitionError);
  });

  it('folds version and updated_at from the stored events', () => {
    const s = partners.given([created, { type: 'partner.updated', data: { partner_id: id, contact_email: 'b@acme.test' } }]);
    expect(s.state?.contact_email).toBe('b@acme.test');
    expect(s.state?.version).toBe(seq);
    expect((s.state?.updated_at ?? '') > (s.state?.created_at ?? '')).toBe(true);
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
    const [v1] = partners.given([created]).when(sign()).events();
    expect(v1).toMatchObject({
      type: 'partner.agreement_signed',
      data: { version: 1, supersedes: null, revenue_share: { first_year_pct: 20 } },
    });
    const [v2] = partners
      .given([created, v1 as PartnerEvent])
      .when(sign({ agreement_id: 'agr_2', effective_at: '2027-02-01T00:00:00.000Z', expires_at: null }))
      .events();
    expect(v2).toMatchObject({ data: { version: 2, supersedes: 'agr_1', expires_at: null } });
  });

  it('refuses an agreement that expires before it takes effect, or takes effect before the current version', () => {
    expect(() =>
      partners
        .given([created])
        .when(sign({ expires_at: '2026-01-15T00:00:00.000Z' }))
        .events(),
    ).toThrow(ValidationError);
    const [v1] = partners.given([created]).when(sign()).events();
    expect(() =>
      partners
        .given([created, v1 as PartnerEvent])
        .when(sign({ agreement_id: 'agr_2', effective_at: '2026-01-15T00:00:00.000Z', expires_at: null }))
        .events(),
    ).toThrow(ValidationError);
    expect(() => partners.given([created, terminated]).when(sign()).events()).toThrow(IllegalTransitionError);
  });

  it('adds contacts with roles once per role, and removes only existing ones', () => {
    const add: PartnerCommand = {
      type: 'AddContact',
      data: { partner_id: id, contact_id: 'ctc_1', name: 'Ann', email: 'ann@acme.test', role: 'technical' },
    };
    const [added] = partners.given([created]).when(add).events();
    const s = partners.given([created, added as PartnerEvent]);
    expect(s.state?.contacts).toMatchObject([{ contact_id: 'ctc_1', role: 'technical' }]);
    expect(() => s.when({ ...add, data: { ...add.data, contact_id: 'ctc_2', email: 'ANN@acme.test' } }).events()).toThrow(ConflictError);
    expect(s.when({ ...add, data: { ...add.data, contact_id: 'ctc_2', role: 'billing' } }).events()).toHaveLength(1);
    expect(() => s.when({ type: 'RemoveContact', data: { partner_id: id, contact_id: 'ctc_x' } }).events()).toThrow(NotFoundError);
    const [removed] = s.when({ type: 'RemoveContact', data: { partner_id: id, contact_id: 'ctc_1' } }).events();
    expect(partners.given([created, added as PartnerEvent, removed as PartnerEvent]).state?.contacts).toEqual([]);
  });

  it('a pending partner under review can be asked for changes with a note: it stays pending, the note is its status reason', () => {
    const ask: PartnerCommand = { type: 'RequestPartnerChanges', data: { partner_id: id, reason: 'add a security contact' } };
    const events = partners.given([created]).when(ask).events();
    expect(events).toEqual([{ type: 'partner.changes_requested', data: { partner_id: id, reason: 'add a security contact' } }]);
    expect(partners.given([created, ...events]).state).toMatchObject({ status: 'pending', status_reason: 'add a security contact' });
    // Approving afterwards activates it as before; only a pending partner is reviewed.
    expect(
      partners
        .given([created, ...events])
        .when({ type: 'ActivatePartner', data: { partner_id: id } })
        .events(),
    ).toHaveLength(1);
    expect(() => partners.given([created, activated]).when(ask).events()).toThrow(IllegalTransitionError);
    expect(() => partners.given([created, terminated]).when(ask).events()).toThrow(IllegalTransitionError);
    expect(() => partners.given().when(ask).events()).toThrow(NotFoundError);
  });
});
