import type { Principal } from '@pep/contracts';
import { NotFoundError } from '@pep/runtime';
import { assertVisible, isAdmin, listScope } from '@pep/service';

/** The row if the principal may see it; 404 (never 403) otherwise, so existence is not leaked. */
export function visible<T extends { partner_id: string }>(row: T | undefined, principal: Principal, what: string): T {
  if (!row) throw new NotFoundError(`${what} not found`);
  assertVisible(principal, row.partner_id, what);
  return row;
}

/** Only this partner's resources may be changed (undefined for admins). */
export const partnerScope = (principal: Principal): string | undefined => (isAdmin(principal) ? undefined : listScope(principal));
