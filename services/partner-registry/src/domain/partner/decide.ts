import type { PartnerTier, PartnerType } from '@pep/contracts';
import { ConflictError, IllegalTransitionError, NotFoundError } from '@pep/runtime';
import type { PartnerEvent, PartnerState } from './partner.ts';

export type PartnerCommand =
  | { type: 'CreatePartner'; data: { partner_id: string; name: string; type: PartnerType; contact_email: string; tier: PartnerTier } }
  | {
      type: 'UpdatePartner';
      data: { partner_id: string; name?: string; type?: PartnerType; contact_email?: string; tier?: PartnerTier };
    }
  | { type: 'ActivatePartner'; data: { partner_id: string; reason?: string } }
  | { type: 'SuspendPartner'; data: { partner_id: string; reason: string } }
  | { type: 'TerminatePartner'; data: { partner_id: string; reason: string } };

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
    default: {
      const never: never = command;
      return never;
    }
  }
}
