import type { UserRole } from '@pep/contracts';
import type { ColumnType } from 'kysely';
import type { PartnerUserState } from '../../domain/partner-user/partner-user.ts';

/** The name and tables of this read model (a leaf: the service's DB type imports it, nothing here imports back). */
export const PARTNER_USERS_PROJECTION = 'partner-users';

/** Row of the `partner_users` read model: the folded aggregate (hashes only; no secret ever exists here). */
export interface PartnerUsersTable {
  id: string;
  partner_id: string | null;
  email: string;
  role: UserRole;
  status: PartnerUserState['status'];
  state: ColumnType<PartnerUserState, string, string>;
}
/** Active sessions by the SHA-256 of their secret: how a presented cookie finds its user. */
export interface PartnerUserSessionsTable {
  session_hash: string;
  session_id: string;
  user_id: string;
}
export interface PartnerUsersTables {
  partner_users: PartnerUsersTable;
  partner_user_sessions: PartnerUserSessionsTable;
}
