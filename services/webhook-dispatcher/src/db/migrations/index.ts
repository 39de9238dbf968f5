import type { NamedMigrations } from '@pep/db';
import * as webhookTables from './1763849000000-WebhookTables.ts';

export const dispatcherMigrations: NamedMigrations = {
  '1763849000000-WebhookTables': webhookTables,
};
