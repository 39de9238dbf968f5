import type { StoredEvent, UserRole } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { ColumnType, Kysely, Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolvePartnerUser, PARTNER_USER_EVENT_TYPES, type PartnerUserState } from '../../domain/partner-user/partner-user.ts';

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

export const PARTNER_USERS_PROJECTION = 'partner-users';
export const handledEventTypes = PARTNER_USER_EVENT_TYPES;

type Db = Kysely<RegistryDB>;

export const partnerUsersMigration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('partner_users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text')
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('partner_users_partner_idx').on('partner_users').columns(['partner_id', 'id']).execute();
    await db.schema
      .createTable('partner_user_sessions')
      .addColumn('session_hash', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().unique())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('partner_user_sessions_user_idx').on('partner_user_sessions').column('user_id').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('partner_user_sessions').execute();
    await db.schema.dropTable('partner_users').execute();
  },
};

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
  q: { partner_id: string; limit: number; starting_after?: string },
): Promise<{ data: PartnerUserState[]; has_more: boolean }> {
  let query = db
    .selectFrom('partner_users')
    .select(['id', 'state'])
    .where('partner_id', '=', q.partner_id)
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
