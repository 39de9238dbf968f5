import type { AggregateKind } from '@pep/events';
import { APPLICATIONS_PROJECTION } from '../../projections/applications/table.ts';
import { evolveApplication, initialApplication, type ApplicationState } from './application.ts';

/** An application and its review workflow, as the command bus loads and appends it (`<prefix>.agg.application.<id>`); commands wait for its read model. */
export const applicationAggregate: AggregateKind<ApplicationState | undefined> = {
  kind: 'application',
  initial: initialApplication,
  evolve: evolveApplication,
  projection: APPLICATIONS_PROJECTION,
};
