import type { Principal } from '@pep/contracts';
import { NotFoundError, ValidationError } from '@pep/runtime';

export const isAdmin = (p: Principal) => p.kind === 'admin';

/** A partner principal sees only its own resources; anything else answers 404 (existence is not leaked). */
export function assertVisible(principal: Principal, ownerPartnerId: string, what: string): void {
  if (isAdmin(principal)) return;
  if (principal.partner_id !== ownerPartnerId) throw new NotFoundError(`${what} not found`);
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

/** For reads: the principal's partner, or the admin's optional filter (undefined = every partner). */
export function readScope(principal: Principal, named: string | undefined): string | undefined {
  if (isAdmin(principal)) return named;
  return principal.partner_id ?? '\u0000none';
}
