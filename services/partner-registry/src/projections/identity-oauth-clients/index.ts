import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolveOAuthClient, OAUTH_CLIENT_EVENT_TYPES, type OAuthClientState } from '../../domain/oauth-client/oauth-client.ts';

/** Row of the `oauth_clients` read model: the folded aggregate (secret hash only). */
export interface OAuthClientsTable {
  client_id: string;
  application_id: string;
  partner_id: string;
  state: OAuthClientState;
}
export interface OAuthClientsTables {
  oauth_clients: OAuthClientsTable;
}

export const OAUTH_CLIENTS_PROJECTION = 'oauth-clients';
export const handledEventTypes = OAUTH_CLIENT_EVENT_TYPES;

type Db = Kysely<RegistryDB>;

export const oauthClientsMigration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('oauth_clients')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('application_id', 'text', (c) => c.notNull())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('oauth_clients_application_idx').on('oauth_clients').columns(['application_id', 'client_id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('oauth_clients').execute();
  },
};

export async function applyOAuthClientEvents(trx: Transaction<OAuthClientsTables>, events: StoredEvent[]): Promise<void> {
  const relevant = events.filter((e) => OAUTH_CLIENT_EVENT_TYPES.has(e.type));
  if (relevant.length === 0) return;
  const ids = [...new Set(relevant.map((e) => (e.data as { client_id: string }).client_id))];
  const rows = await trx.selectFrom('oauth_clients').select(['client_id', 'state']).where('client_id', 'in', ids).execute();
  const state = new Map<string, OAuthClientState | undefined>(rows.map((r) => [r.client_id, r.state]));
  for (const e of relevant) {
    const id = (e.data as { client_id: string }).client_id;
    state.set(id, evolveOAuthClient(state.get(id), e));
  }
  const out = [...state.values()]
    .filter((s): s is OAuthClientState => s !== undefined)
    .map((s) => ({
      client_id: s.client_id,
      application_id: s.application_id,
      partner_id: s.partner_id,
      state: JSON.stringify(s) as unknown as OAuthClientState,
    }));
  if (out.length === 0) return;
  await trx
    .insertInto('oauth_clients')
    .values(out)
    .onConflict((oc) => oc.column('client_id').doUpdateSet({ state: sql`excluded.state` }))
    .execute();
}

export function oauthClientsProjection<DB extends OAuthClientsTables>(prefix: string): Projection<DB> {
  return {
    name: OAUTH_CLIENTS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'oauth_client'),
    apply: (trx, events) => applyOAuthClientEvents(trx as unknown as Transaction<OAuthClientsTables>, events),
    async reset(trx) {
      await (trx as unknown as Transaction<OAuthClientsTables>).deleteFrom('oauth_clients').execute();
    },
  };
}

export async function findOAuthClient(db: Db, clientId: string): Promise<OAuthClientState | undefined> {
  return (await db.selectFrom('oauth_clients').select('state').where('client_id', '=', clientId).executeTakeFirst())?.state;
}

export async function listOAuthClients(
  db: Db,
  q: { application_id: string; limit: number; starting_after?: string },
): Promise<{ data: OAuthClientState[]; has_more: boolean }> {
  let query = db
    .selectFrom('oauth_clients')
    .select(['client_id', 'state'])
    .where('application_id', '=', q.application_id)
    .orderBy('client_id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('client_id', '>', q.starting_after);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map((r) => r.state), has_more: rows.length > q.limit };
}
