import { RateLimitedError } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type { RegistryDB } from '../db/schema.ts';

export type { SignInFailuresTables } from './sign-in-failures-table.ts';

export interface ThrottleLimits {
  perAccount: number;
  perAddress: number;
  windowMs: number;
}

/**
 * Failed sign-ins, counted per account and per client address in a fixed window (Postgres, so every replica
 * sees the same counts). Once a count reaches its limit, every further try — right password or not — waits
 * for the window to pass (429 with Retry-After), which is what makes guessing slow. A successful sign-in
 * clears the account's count (not the address's: one good account must not reset a spraying address).
 */
export function createSignInThrottle(db: Kysely<RegistryDB>, limits: ThrottleLimits) {
  const keysOf = (userId: string, address: string | undefined) => [
    { key: `account:${userId}`, limit: limits.perAccount },
    ...(address ? [{ key: `address:${address}`, limit: limits.perAddress }] : []),
  ];

  return {
    /** Throws RateLimitedError when the account or the address is over its limit. */
    async check(userId: string, address: string | undefined, now: Date): Promise<void> {
      const keys = keysOf(userId, address);
      const rows = await db
        .selectFrom('sign_in_failures')
        .selectAll()
        .where(
          'key',
          'in',
          keys.map((k) => k.key),
        )
        .execute();
      for (const row of rows) {
        const limit = keys.find((k) => k.key === row.key)?.limit ?? 1;
        const endsAt = row.window_started_at.getTime() + limits.windowMs;
        if (row.failures >= limit && endsAt > now.getTime()) {
          const retryAfter = Math.max(1, Math.ceil((endsAt - now.getTime()) / 1000));
          throw new RateLimitedError('too many failed sign-ins; wait before trying again', retryAfter);
        }
      }
    },

    async recordFailure(userId: string, address: string | undefined, now: Date): Promise<void> {
      const windowStart = new Date(now.getTime() - limits.windowMs);
      for (const { key } of keysOf(userId, address)) {
        await db
          .insertInto('sign_in_failures')
          .values({ key, failures: 1, window_started_at: now })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              failures: sql`case when sign_in_failures.window_started_at <= ${windowStart} then 1 else sign_in_failures.failures + 1 end`,
              window_started_at: sql`case when sign_in_failures.window_started_at <= ${windowStart} then ${now} else sign_in_failures.window_started_at end`,
            }),
          )
          .execute();
      }
    },

    async clearAccount(userId: string): Promise<void> {
      await db.deleteFrom('sign_in_failures').where('key', '=', `account:${userId}`).execute();
    },
  };
}
export type SignInThrottle = ReturnType<typeof createSignInThrottle>;
