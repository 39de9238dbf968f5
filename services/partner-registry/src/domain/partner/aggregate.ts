import type { AggregateKind } from '@pep/events';
import { PARTNERS_PROJECTION } from '../../projections/partners/table.ts';
import { evolvePartner, initialPartner, type PartnerState } from './partner.ts';

/** A partner: profile, contacts and agreements, as the command bus loads and appends it (`<prefix>.agg.partner.<id>`); commands wait for its read model. */
export const partnerAggregate: AggregateKind<PartnerState | undefined> = {
  kind: 'partner',
  initial: initialPartner,
  evolve: evolvePartner,
  projection: PARTNERS_PROJECTION,
};
