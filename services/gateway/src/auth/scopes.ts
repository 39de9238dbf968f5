import { scopeAllows as vocabularyAllows } from '@pep/contracts';

/**
 * The gateway's route check over the one scope vocabulary of contracts/identity (`admin`, and
 * `<read|write|manage>:<resource|*>` with nesting verbs): a route without a scope is open to any
 * authenticated credential.
 */
export function scopeAllows(granted: readonly string[], required: string | undefined): boolean {
  return !required || vocabularyAllows(granted, required);
}
