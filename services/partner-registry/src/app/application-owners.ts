import type { PlatformEvent } from '@pep/contracts';
import { aggregateSubject, createAggregateLoader, type EventBus } from '@pep/events';

/** The owner and status of an application, as the identity area needs them (own fold: no coupling to its state shape). */
export interface ApplicationOwner {
  partner_id: string;
  status: string;
}
const applicationOwnerView = {
  initial: (): ApplicationOwner | undefined => undefined,
  evolve: (state: ApplicationOwner | undefined, event: PlatformEvent): ApplicationOwner | undefined => {
    const data = (event.data ?? {}) as { partner_id?: unknown; status?: unknown };
    const owner = state?.partner_id ?? (typeof data.partner_id === 'string' ? data.partner_id : undefined);
    if (!owner) return state;
    const suffix = event.type.slice(event.type.indexOf('.') + 1);
    return { partner_id: owner, status: typeof data.status === 'string' ? data.status : suffix };
  },
};

/** The identity area needs the event bus to fold applications; a registry wired without one cannot serve it. */
export class EventBusMissingError extends Error {
  constructor() {
    super('identity handlers need the event bus (HandlerDeps.bus)');
    this.name = 'EventBusMissingError';
  }
}

/**
 * Applications belong to another area: folded here with this area's own small view (owner, status) through
 * a loader of its own, so the command bus's per-kind cache keeps the applications area's state shape.
 */
export function createApplicationOwners(bus: EventBus | undefined) {
  const applications = bus ? createAggregateLoader(bus, applicationOwnerView.initial, applicationOwnerView.evolve, 1000) : undefined;
  return async (id: string): Promise<ApplicationOwner | undefined> => {
    if (!applications || !bus) throw new EventBusMissingError();
    return (await applications.load(aggregateSubject(bus.prefix, 'application', id))).state;
  };
}
