import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '@pep/contracts';
import type { AuthStrategy } from './auth-strategy.ts';

/**
 * The platform admin key (`PLATFORM_ADMIN_API_KEY`). Only a SHA-256 of it, salted with a pepper made at start-up,
 * is kept in memory; a presented credential is hashed the same way and compared in constant time. (One-shot
 * `crypto.hash` rather than an HMAC: same guarantees here, a fraction of the cost on the ingest hot path.)
 */
export class AdminKeyStrategy implements AuthStrategy {
  readonly name = 'admin-key';
  readonly order = 0;
  private readonly pepper = randomBytes(32).toString('hex');
  private readonly digest: Buffer;
  private readonly principal: Principal = Object.freeze({ kind: 'admin', scopes: ['admin'], credential_id: 'admin_env' });

  constructor(adminKey: string) {
    this.digest = this.hash(adminKey);
  }

  private hash(value: string): Buffer {
    return hash('sha256', this.pepper + value, 'buffer');
  }

  /** Not the admin key: `null`, so later strategies (partner API keys, OAuth tokens) get their turn. */
  authenticate(credential: string): Principal | null {
    return timingSafeEqual(this.hash(credential), this.digest) ? this.principal : null;
  }
}
