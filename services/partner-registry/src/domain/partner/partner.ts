import type {
  DataOf,
  Partner,
  PartnerActivated,
  PartnerAgreementSigned,
  PartnerChangesRequested,
  PartnerContactAdded,
  PartnerContactRemoved,
  PartnerCreated,
  PartnerSuspended,
  PartnerTerminated,
  PartnerUpdated,
  PlatformEvent,
} from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

/** The partner profile, as the API and the `partners` read model show it. */
export type PartnerProfile = Partner;
export type ContactState = Omit<DataOf<typeof PartnerContactAdded>, 'partner_id'> & { added_at: string };
export type AgreementState = Omit<DataOf<typeof PartnerAgreementSigned>, 'partner_id'>;

/** The partner aggregate: its profile plus what commands need to decide (contacts, agreement versions). */
export type PartnerState = PartnerProfile & { contacts: ContactState[]; agreements: AgreementState[] };

/** A domain event the partner decider emits (type + data; the envelope is added by the command runner). */
export type PartnerEvent =
  | { type: 'partner.created'; data: DataOf<typeof PartnerCreated> }
  | { type: 'partner.updated'; data: DataOf<typeof PartnerUpdated> }
  | { type: 'partner.activated'; data: DataOf<typeof PartnerActivated> }
  | { type: 'partner.changes_requested'; data: DataOf<typeof PartnerChangesRequested> }
  | { type: 'partner.suspended'; data: DataOf<typeof PartnerSuspended> }
  | { type: 'partner.terminated'; data: DataOf<typeof PartnerTerminated> }
  | { type: 'partner.contact_added'; data: DataOf<typeof PartnerContactAdded> }
  | { type: 'partner.contact_removed'; data: DataOf<typeof PartnerContactRemoved> }
  | { type: 'partner.agreement_signed'; data: DataOf<typeof PartnerAgreementSigned> };

/** The events of this aggregate (a type guard: an evolve narrows to its own union instead of casting). */
export const isPartnerEvent = eventsOfTypes<PartnerEvent>([
  'partner.created',
  'partner.updated',
  'partner.activated',
  'partner.changes_requested',
  'partner.suspended',
  'partner.terminated',
  'partner.contact_added',
  'partner.contact_removed',
  'partner.agreement_signed',
]);

export const initialPartner = (): PartnerState | undefined => undefined;

/** Folds one stored event into the whole aggregate: the profile, its contacts and its agreements. */
export function evolvePartner(state: PartnerState | undefined, event: PlatformEvent & { seq?: number }): PartnerState | undefined {
  const profile = evolvePartnerProfile(state ? toPartner(state) : undefined, event);
  if (!profile) return undefined;
  let contacts = state?.contacts ?? [];
  let agreements = state?.agreements ?? [];
  if (!isPartnerEvent(event)) return { ...profile, contacts, agreements };
  const e = event;
  if (e.type === 'partner.contact_added') {
    const { partner_id: _p, ...contact } = e.data;
    contacts = [...contacts.filter((c) => c.contact_id !== contact.contact_id), { ...contact, added_at: event.time }];
  } else if (e.type === 'partner.contact_removed') {
    contacts = contacts.filter((c) => c.contact_id !== e.data.contact_id);
  } else if (e.type === 'partner.agreement_signed') {
    const { partner_id: _p, ...agreement } = e.data;
    agreements = [...agreements, agreement];
  }
  return { ...profile, contacts, agreements };
}

/** The profile part of a partner state (what the API's partner object holds). */
export function toPartner(state: PartnerState): PartnerProfile {
  const { contacts: _c, agreements: _a, ...profile } = state;
  return profile;
}

/**
 * Folds one stored event into the partner's profile. `seq` (the stream sequence) becomes the partner's
 * `version`; the event's `time` its `updated_at`. Unknown types leave the state as it is (forward compatible).
 */
export function evolvePartnerProfile(
  state: PartnerProfile | undefined,
  event: PlatformEvent & { seq?: number },
): PartnerProfile | undefined {
  if (!isPartnerEvent(event)) return state;
  const e = event;
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
    case 'partner.changes_requested':
      return { ...state, status_reason: e.data.reason, ...stamp };
    case 'partner.suspended':
      return { ...state, status: 'suspended', status_reason: e.data.reason, ...stamp };
    case 'partner.terminated':
      return { ...state, status: 'terminated', status_reason: e.data.reason, ...stamp };
    case 'partner.contact_added':
    case 'partner.contact_removed':
    case 'partner.agreement_signed':
      return { ...state, ...stamp };
    default: {
      const never: never = e;
      return never;
    }
  }
}
