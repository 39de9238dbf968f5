import type { Principal } from '@pep/contracts';
import { NotFoundError, ValidationError } from '@pep/runtime';

/**
 * Tenant isolation, the same in every service: a partner (or OAuth) principal sees only its own partner's
 * resources, and anything else is answered as if it did not exist (404, never 403).
 */
export const isAdmin = (p: Principal) => p.kind === 'admin';

export function assertVisible(principal: Principal, ownerPartnerId: string | undefined, what: string): void {
  if (isAdmin(principal)) return;
  if (!principal.partner_id || principal.partner_id !== ownerPartnerId) throw new NotFoundError(`${what} not found`);
}

/** The partner a write acts for: the principal's own, or the `partner_id` an admin names. */
export function actingPartner(principal: Principal, named: string | undefined): string {
  if (!isAdmin(principal)) {
    if (!principal.partner_id) throw new NotFoundError('partner not found');
    if (named !== undefined && named !== principal.partner_id) throw new NotFoundError(`partner ${named} not found`);
    return principal.partner_id;
  }
  if (!named) throw new ValidationError([{ path: 'partner_id', message: 'an admin credential must name the partner' }]);
  return named;
}

/** For reads and lists: the principal's partner, or the admin's optional filter (undefined = every partner). */
export function listScope(principal: Principal, named?: string): string | undefined {
  if (isAdmin(principal)) return named;
  return principal.partner_id ?? '\u0000none';
}
