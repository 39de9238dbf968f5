import type { ContactRole, PartnerTier, PartnerType } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError, ValidationError } from '@pep/runtime';
import type { PartnerEvent, PartnerState } from './partner.ts';

export type PartnerCommand =
  | { type: 'CreatePartner'; data: { partner_id: string; name: string; type: PartnerType; contact_email: string; tier: PartnerTier } }
  | {
      type: 'UpdatePartner';
      data: { partner_id: string; name?: string; type?: PartnerType; contact_email?: string; tier?: PartnerTier };
    }
  | { type: 'ActivatePartner'; data: { partner_id: string; reason?: string } }
  | { type: 'RequestPartnerChanges'; data: { partner_id: string; reason: string } }
  | { type: 'SuspendPartner'; data: { partner_id: string; reason: string } }
  | { type: 'TerminatePartner'; data: { partner_id: string; reason: string } }
  | {
      type: 'AddContact';
      data: { partner_id: string; contact_id: string; name: string; email: string; role: ContactRole; phone?: string };
    }
  | { type: 'RemoveContact'; data: { partner_id: string; contact_id: string } }
  | {
      type: 'SignAgreement';
      data: {
        partner_id: string;
        agreement_id: string;
        title: string;
        signed_by: string;
        signed_at: string;
        effective_at: string;
        expires_at: string | null;
        revenue_share: { first_year_pct: number; renewal_pct: number };
        terms_url?: string;
      };
    };

function existing(state: PartnerState | undefined, id: string): PartnerState {
  if (!state) throw new NotFoundError(`partner ${id} not found`);
  return state;
}

function illegal(state: PartnerState, action: string): never {
  throw new IllegalTransitionError(`cannot ${action} a partner that is ${state.status}`, {
    extensions: { current_status: state.status },
  });
}

/**
 * Decides a partner command against the partner's current state: the events to append, or a DomainError.
 * Pure: ids and time come in with the command.
 */
export function decidePartner(command: PartnerCommand, state: PartnerState | undefined): PartnerEvent[] {
  switch (command.type) {
    case 'CreatePartner':
      if (state) throw new ConflictError(`partner ${command.data.partner_id} already exists`);
      return [{ type: 'partner.created', data: command.data }];
    case 'UpdatePartner': {
      const s = existing(state, command.data.partner_id);
      if (s.status === 'terminated') illegal(s, 'update');
      const { partner_id, ...fields } = command.data;
      const changes = Object.fromEntries(
        Object.entries(fields).filter(([k, v]) => v !== undefined && s[k as keyof PartnerState] !== v),
      ) as Omit<typeof command.data, 'partner_id'>;
      if (Object.keys(changes).length === 0) return [];
      return [{ type: 'partner.updated', data: { partner_id, ...changes } }];
    }
    case 'ActivatePartner': {
      const s = existing(state, command.data.partner_id);
      if (s.status !== 'pending' && s.status !== 'suspended') illegal(s, 'activate');
      return [{ type: 'partner.activated', data: command.data }];
    }
    case 'RequestPartnerChanges': {
      const s = existing(state, command.data.partner_id);
      if (s.status !== 'pending') illegal(s, 'request changes from');
      return [{ type: 'partner.changes_requested', data: command.data }];
    }
    case 'SuspendPartner': {
      const s = existing(state, command.data.partner_id);
      if (s.status !== 'active') illegal(s, 'suspend');
      return [{ type: 'partner.suspended', data: command.data }];
    }
    case 'TerminatePartner': {
      const s = existing(state, command.data.partner_id);
      if (s.status === 'terminated') illegal(s, 'terminate');
      return [{ type: 'partner.terminated', data: command.data }];
    }
    case 'AddContact': {
      const s = existing(state, command.data.partner_id);
      if (s.status === 'terminated') illegal(s, 'add a contact to');
      const email = command.data.email.toLowerCase();
      if (s.contacts.some((c) => c.email.toLowerCase() === email && c.role === command.data.role)) {
        throw new ConflictError(`${command.data.email} is already a ${command.data.role} contact`);
      }
      return [{ type: 'partner.contact_added', data: command.data }];
    }
    case 'RemoveContact': {
      const s = existing(state, command.data.partner_id);
      if (!s.contacts.some((c) => c.contact_id === command.data.contact_id)) {
        throw new NotFoundError(`contact ${command.data.contact_id} not found`);
      }
      return [{ type: 'partner.contact_removed', data: command.data }];
    }
    case 'SignAgreement': {
      const s = existing(state, command.data.partner_id);
      if (s.status === 'terminated') illegal(s, 'sign an agreement with');
      const d = command.data;
      if (d.expires_at !== null && Date.parse(d.expires_at) <= Date.parse(d.effective_at)) {
        throw new ValidationError([{ path: 'expires_at', message: 'must be after effective_at' }]);
      }
      const previous = s.agreements[s.agreements.length - 1];
      if (previous && Date.parse(d.effective_at) < Date.parse(previous.effective_at)) {
        throw new ValidationError([
          {
            path: 'effective_at',
            message: `must not be before the effective date of version ${previous.version} (${previous.effective_at})`,
          },
        ]);
      }
      const { terms_url, ...rest } = d;
      return [
        {
          type: 'partner.agreement_signed',
          data: {
            ...rest,
            ...(terms_url ? { terms_url } : {}),
            version: (previous?.version ?? 0) + 1,
            supersedes: previous?.agreement_id ?? null,
          },
        },
      ];
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
