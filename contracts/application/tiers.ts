import { scopeAllows } from '../identity/scopes.ts';
import type { PartnerTier } from '../partner/events.ts';

/**
 * The widest scopes an application of a partner in each tier may request: standard partners' applications
 * read and write, premium ones may also manage, enterprise ones may ask for `admin` (within the tenant).
 */
export const TIER_SCOPE_CEILING: Record<PartnerTier, readonly string[]> = {
  standard: ['write:*'],
  premium: ['manage:*'],
  enterprise: ['admin'],
};

export function scopeFitsTier(scope: string, tier: PartnerTier): boolean {
  return scopeAllows(TIER_SCOPE_CEILING[tier], scope);
}
