import type { DataOf, Partner, PlatformEvent } from '@pep/contracts';
import type { PartnerActivated, PartnerCreated, PartnerSuspended, PartnerTerminated, PartnerUpdated } from '@pep/contracts';

/** The partner aggregate: the profile the API shows, folded from the partner's own events. */
export type PartnerState = Partner;

/** A domain event the partner decider emits (type + data; the envelope is added by the command runner). */
export type PartnerEvent =
  | { type: 'partner.created'; data: DataOf<typeof PartnerCreated> }
  | { type: 'partner.updated'; data: DataOf<typeof PartnerUpdated> }
  | { type: 'partner.activated'; data: DataOf<typeof PartnerActivated> }
  | { type: 'partner.suspended'; data: DataOf<typeof PartnerSuspended> }
  | { type: 'partner.terminated'; data: DataOf<typeof PartnerTerminated> };

export const PARTNER_EVENT_TYPES: ReadonlySet<string> = new Set([
  'partner.created',
  'partner.updated',
  'partner.activated',
  'partner.suspended',
  'partner.terminated',
]);

export const initialPartner = (): PartnerState | undefined => undefined;

/**
 * Folds one stored event into the partner. `seq` (the stream sequence) becomes the partner's `version`;
 * the event's `time` its `updated_at`. Unknown types leave the state as it is (forward compatible).
 */
export function evolvePartner(state: PartnerState | undefined, event: PlatformEvent & { seq?: number }): PartnerState | undefined {
  if (!PARTNER_EVENT_TYPES.has(event.type)) return state;
  const e = event as unknown as PartnerEvent;
  const stamp = { version: event.seq ?? state?.version ?? 0, updated_at: event.time };
  if (e.type === 'partner.created') {
    if (state) return state;
    return {
      id: e.data.partner_id,
      object: 'partner',
      name: e.data.name,
      type: e.data.type,
      tier: e.data.tier,
      contact_email: e.data.contact_email,
      status: 'pending',
      status_reason: null,
      created_at: event.time,
      ...stamp,
    };
  }
  if (!state) return state;
  switch (e.type) {
    case 'partner.updated': {
      const { partner_id: _id, ...changes } = e.data;
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      return { ...state, ...defined, ...stamp };
    }
    case 'partner.activated':
      return { ...state, status: 'active', status_reason: e.data.reason ?? null, ...stamp };
    case 'partner.suspended':
      return { ...state, status: 'suspended', status_reason: e.data.reason, ...stamp };
    case 'partner.terminated':
      return { ...state, status: 'terminated', status_reason: e.data.reason, ...stamp };
    default: {
      const never: never = e;
      return never;
    }
  }
}
