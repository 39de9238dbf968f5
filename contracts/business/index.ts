// Contracts of the business context: the standard catalog of business events partners exchange (DESIGN.md).
import { billingEvents } from './billing.ts';
import { claimEvents } from './claim.ts';
import { integrationEvents } from './integration.ts';
import { leadEvents } from './lead.ts';
import { policyEvents } from './policy.ts';
import { userEvents } from './user.ts';

export * from './billing.ts';
export * from './claim.ts';
export * from './examples.ts';
export * from './integration.ts';
export * from './lead.ts';
export * from './policy.ts';
export * from './user.ts';

/** Every business event definition, every version (lead.updated has v1 and v2). */
export const businessEvents = [
  ...leadEvents,
  ...policyEvents,
  ...claimEvents,
  ...userEvents,
  ...integrationEvents,
  ...billingEvents,
] as const;
