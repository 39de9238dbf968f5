import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolvePartnerUser, PARTNER_USER_EVENT_TYPES, type PartnerUserState } from '../../domain/partner-user/partner-user.ts';

import { PARTNER_USERS_PROJECTION } from './table.ts';

export { PARTNER_USERS_PROJECTION } from './table.ts';
export type { PartnerUsersTable, PartnerUserSessionsTable, PartnerUsersTables } from './table.ts';

export const handledEventTypes = PARTNER_USER_EVENT_TYPES;

type Db = Kysely<RegistryDB>;

const userIdOf = (e: StoredEvent) => (e.data as { user_id: string }).user_id;

export async function applyPartnerUserEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  const relevant = events.filter((e) => PARTNER_USER_EVENT_TYPES.has(e.type));
  if (relevant.length === 0) return;
  const ids = [...new Set(relevant.map(userIdOf))];
  const rows = await trx.selectFrom('partner_users').select(['id', 'state']).where('id', 'in', ids).execute();
  const state = new Map<string, PartnerUserState | undefined>(rows.map((r) => [r.id, r.state]));
  for (const e of relevant) state.set(userIdOf(e), evolvePartnerUser(state.get(userIdOf(e)), e));
  const users = [...state.values()].filter((s): s is PartnerUserState => s !== undefined);
  if (users.length === 0) return;
  await trx
    .insertInto('partner_users')
    .values(
      users.map((u) => ({ id: u.id, partner_id: u.partner_id, email: u.email, role: u.role, status: u.status, state: JSON.stringify(u) })),
    )
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        partner_id: eb.ref('excluded.partner_id'),
        role: eb.ref('excluded.role'),
        status: eb.ref('excluded.status'),
        state: eb.ref('excluded.state'),
      })),
    )
    .execute();
  await trx.deleteFrom('partner_user_sessions').where('user_id', 'in', ids).execute();
  const sessions = users.flatMap((u) => Object.values(u.sessions).map((s) => ({ session_hash: s.hash, session_id: s.id, user_id: u.id })));
  if (sessions.length > 0) await trx.insertInto('partner_user_sessions').values(sessions).execute();
}

export function partnerUsersProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: PARTNER_USERS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'partner_user'),
    apply: applyPartnerUserEvents,
    async reset(trx) {
      await trx.deleteFrom('partner_user_sessions').execute();
      await trx.deleteFrom('partner_users').execute();
    },
  };
}

// Queries -------------------------------------------------------------------------------------------

export async function findPartnerUser(db: Db, id: string): Promise<PartnerUserState | undefined> {
  return (await db.selectFrom('partner_users').select('state').where('id', '=', id).executeTakeFirst())?.state;
}

/** The user and session id a session secret's hash belongs to (undefined: no active session has it). */
export async function findSessionByHash(db: Db, hash: string): Promise<{ session_id: string; user_id: string } | undefined> {
  return db.selectFrom('partner_user_sessions').select(['session_id', 'user_id']).where('session_hash', '=', hash).executeTakeFirst();
}

export async function listPartnerUsers(
  db: Db,
  q: { partner_id: string | null; limit: number; starting_after?: string },
): Promise<{ data: PartnerUserState[]; has_more: boolean }> {
  let query = db
    .selectFrom('partner_users')
    .select(['id', 'state'])
    .where((w) => (q.partner_id === null ? w('partner_id', 'is', null) : w('partner_id', '=', q.partner_id)))
    .where('status', '!=', 'removed')
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('id', '>', q.starting_after);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map((r) => r.state), has_more: rows.length > q.limit };
}

/** Active owners of a partner other than `exceptId` (the last owner must stay). */
export async function countOtherOwners(db: Db, partnerId: string, exceptId: string): Promise<number> {
  const row = await db
    .selectFrom('partner_users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('partner_id', '=', partnerId)
    .where('role', '=', 'owner')
    .where('status', '=', 'active')
    .where('id', '!=', exceptId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
