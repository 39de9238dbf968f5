import type { Principal } from '@pep/contracts';
import { actingPartner, isAdmin, listScope } from '@pep/service';

/** The partner filter of a read: a partner's own (naming another partner is 404), or an admin's optional filter. */
export function readScope(principal: Principal, named: string | undefined): string | undefined {
  if (!isAdmin(principal) && named !== undefined) actingPartner(principal, named);
  return listScope(principal, named);
}
