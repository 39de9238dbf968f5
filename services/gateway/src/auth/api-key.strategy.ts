import { hashSecret, type Principal, parseApiKey } from '@pep/contracts';
import { UnauthorizedError } from '@pep/runtime';
import type { IdentityStore } from '../identity/identity-projection.ts';
import type { KeyEntry, PartnerEntry } from '../identity/identity-state.ts';
import type { AuthStrategy } from './auth-strategy.ts';

/** What the rate limiter and usage recorder learn about an authenticated key. */
export interface KeyUse {
  key: KeyEntry;
  partner: PartnerEntry;
}

const REASONS: Record<string, string> = {
  unknown: 'the API key is not valid',
  revoked: 'the API key has been revoked',
  expired: 'the API key has expired',
  partner_inactive: 'the API key belongs to a partner that is suspended or terminated',
};

/**
 * Partner API keys (`pk_live_...`, `pk_test_...`), checked against the gateway's own in-memory projection of
 * key hashes: a checksum test, one SHA-256 and a Map lookup, no network hop. Each use is handed to `onUse`
 * (last-used batching); the principal's credential id is the key id.
 */
export class ApiKeyStrategy implements AuthStrategy {
  readonly name = 'api-key';
  readonly order = 10;

  constructor(
    private readonly store: IdentityStore,
    private readonly onUse: (use: KeyUse, now: number) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  authenticate(credential: string): Principal | null {
    if (!credential.startsWith('pk_')) return null;
    if (!parseApiKey(credential)) throw new UnauthorizedError(REASONS.unknown as string);
    const now = this.now();
    const check = this.store.state.checkKey(hashSecret(credential), now);
    if (!check.ok) throw new UnauthorizedError(REASONS[check.reason] as string);
    this.onUse({ key: check.key, partner: check.partner }, now);
    return check.principal;
  }
}
