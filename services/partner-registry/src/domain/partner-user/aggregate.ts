import type { AggregateKind } from '@pep/events';
import { PARTNER_USERS_PROJECTION } from '../../projections/partner-users/table.ts';
import { evolvePartnerUser, initialPartnerUser, type PartnerUserState } from './partner-user.ts';

/** A portal user account, as the command bus loads and appends it (`<prefix>.agg.partner_user.<id>`); commands wait for its read model. */
export const partnerUserAggregate: AggregateKind<PartnerUserState | undefined> = {
  kind: 'partner_user',
  initial: initialPartnerUser,
  evolve: evolvePartnerUser,
  projection: PARTNER_USERS_PROJECTION,
};
