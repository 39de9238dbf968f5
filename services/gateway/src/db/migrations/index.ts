import type { NamedMigrations } from '@pep/db';
import * as idempotencyKeys from './1795385018121-IdempotencyKeys.ts';
import { identityMigrations } from '../../identity/identity-projection.ts';
import { oauthMigrations } from '../../oauth/oauth-store.ts';

export const migrations: NamedMigrations = {
  '1795385018121-IdempotencyKeys': idempotencyKeys,
  ...identityMigrations,
  ...oauthMigrations,
};
