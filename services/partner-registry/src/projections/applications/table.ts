import type { Application, ApplicationStatus } from '@pep/contracts';
import type { Jsonb } from '@pep/db';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const APPLICATIONS_PROJECTION = 'applications';

/** Row of the `applications` read model: indexed columns plus the application as the API shows it. */
export interface ApplicationsTable {
  id: string;
  partner_id: string;
  status: ApplicationStatus;
  doc: Jsonb<Application>;
}

export interface ApplicationsTables {
  applications: ApplicationsTable;
}
