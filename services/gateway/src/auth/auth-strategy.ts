import type { Principal } from '@pep/contracts';

/**
 * One way of turning a bearer credential into a Principal. Strategies run in `order` (lowest first) until one
 * recognizes the credential:
 * - return the Principal when the credential is this strategy's and valid;
 * - return `null` when it is not this strategy's kind of credential (the next strategy gets it);
 * - throw an `UnauthorizedError` when it is this strategy's kind but invalid, expired or revoked.
 */
export interface AuthStrategy {
  readonly name: string;
  readonly order: number;
  authenticate(credential: string): Principal | null | Promise<Principal | null>;
}
