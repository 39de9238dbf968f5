import type { NamedMigrations } from '@pep/db';
import { apiKeysMigration } from '../identity-api-keys/index.ts';
import { oauthClientsMigration } from '../identity-oauth-clients/index.ts';

/** Migrations of the identity read models (API keys, OAuth clients), composed into the registry's list. */
export const identityMigrations: NamedMigrations = {
  '1763852400000-CreateApiKeys': apiKeysMigration,
  '1763852400001-CreateOAuthClients': oauthClientsMigration,
};
