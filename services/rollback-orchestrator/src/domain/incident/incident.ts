import type { DataOf, IncidentOpened, IncidentResolved, PlatformEvent } from '@pep/contracts';
import { eventsOfTypes } from '@pep/events';

export type IncidentOpenedData = DataOf<typeof IncidentOpened>;
export type IncidentResolvedData = DataOf<typeof IncidentResolved>;

export type IncidentEvent =
  | { type: 'incident.opened'; data: IncidentOpenedData }
  | { type: 'incident.resolved'; data: IncidentResolvedData };

export interface IncidentState {
  status: 'none' | 'open' | 'resolved';
  opened: IncidentOpenedData | null;
  resolved: IncidentResolvedData | null;
}

export const isIncidentEvent = eventsOfTypes<IncidentEvent>(['incident.opened', 'incident.resolved']);

export const AGGREGATE = 'incident';

export const initialIncident = (): IncidentState => ({ status: 'none', opened: null, resolved: null });

export function evolveIncident(state: IncidentState, event: PlatformEvent): IncidentState {
  if (!isIncidentEvent(event)) return state;
  switch (event.type) {
    case 'incident.opened':
      return { ...state, status: 'open', opened: event.data };
    case 'incident.resolved':
      return { ...state, status: 'resolved', resolved: event.data };
    default: {
      const never: never = event;
      return never;
    }
  }
}
