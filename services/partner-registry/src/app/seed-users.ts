import { ConfigError } from '@pep/runtime';
import type { RegistryConfig } from '../config.ts';
import { type AccountsDeps, createAccounts } from './partner-users.ts';

/** Makes the users of PORTAL_SEED_USERS that do not exist yet (demo and development; refused in production). */
export async function seedPortalUsers(deps: Omit<AccountsDeps, 'config'> & { config: RegistryConfig }): Promise<void> {
  const seed = deps.config.PORTAL_SEED_USERS;
  if (seed.length === 0) return;
  if (deps.config.NODE_ENV === 'production') throw new ConfigError('PORTAL_SEED_USERS: not allowed in production (invite users instead)');
  await createAccounts(deps).seedUsers(seed);
  deps.logger.info('portal users seeded', { users: seed.map((u) => ({ email: u.email, role: u.role })) });
}
