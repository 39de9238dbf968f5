import type { NamedMigrations } from '@pep/db';
import * as idempotencyKeys from './1795385018121-IdempotencyKeys.ts';
import * as identityProjection from './1795385100000-IdentityProjection.ts';
import * as oauthServer from './1795385200000-OAuthServer.ts';

/** Every migration of the gateway's database, in one folder (the feature modules own none). */
export const migrations: NamedMigrations = {
  '1795385018121-IdempotencyKeys': idempotencyKeys,
  '1795385100000-IdentityProjection': identityProjection,
  '1795385200000-OAuthServer': oauthServer,
};
