import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { API_KEY_EVENT_TYPES, type ApiKeyState, evolveApiKey } from '../../domain/api-key/api-key.ts';

/** Row of the `api_keys` read model: the folded aggregate (hashes included, secrets never exist here). */
export interface ApiKeysTable {
  id: string;
  partner_id: string;
  state: ApiKeyState;
}
export interface ApiKeysTables {
  api_keys: ApiKeysTable;
}

export const API_KEYS_PROJECTION = 'api-keys';
export const handledEventTypes = API_KEY_EVENT_TYPES;

type Db = Kysely<RegistryDB>;

export const apiKeysMigration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('api_keys_partner_idx').on('api_keys').columns(['partner_id', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('api_keys').execute();
  },
};

export async function applyApiKeyEvents(trx: Transaction<ApiKeysTables>, events: StoredEvent[]): Promise<void> {
  const relevant = events.filter((e) => API_KEY_EVENT_TYPES.has(e.type));
  if (relevant.length === 0) return;
  const ids = [...new Set(relevant.map((e) => (e.data as { api_key_id: string }).api_key_id))];
  const rows = await trx.selectFrom('api_keys').select(['id', 'state']).where('id', 'in', ids).execute();
  const state = new Map<string, ApiKeyState | undefined>(rows.map((r) => [r.id, r.state]));
  for (const e of relevant) {
    const id = (e.data as { api_key_id: string }).api_key_id;
    state.set(id, evolveApiKey(state.get(id), e));
  }
  const out = [...state.values()]
    .filter((s): s is ApiKeyState => s !== undefined)
    .map((s) => ({ id: s.id, partner_id: s.partner_id, state: JSON.stringify(s) as unknown as ApiKeyState }));
  if (out.length === 0) return;
  await trx
    .insertInto('api_keys')
    .values(out)
    .onConflict((oc) => oc.column('id').doUpdateSet({ state: sql`excluded.state` }))
    .execute();
}

export function apiKeysProjection<DB extends ApiKeysTables>(prefix: string): Projection<DB> {
  return {
    name: API_KEYS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'api_key'),
    apply: (trx, events) => applyApiKeyEvents(trx as unknown as Transaction<ApiKeysTables>, events),
    async reset(trx) {
      await (trx as unknown as Transaction<ApiKeysTables>).deleteFrom('api_keys').execute();
    },
  };
}

// Queries -------------------------------------------------------------------------------------------

export async function findApiKey(db: Db, id: string): Promise<ApiKeyState | undefined> {
  return (await db.selectFrom('api_keys').select('state').where('id', '=', id).executeTakeFirst())?.state;
}

export async function listApiKeys(
  db: Db,
  q: { partner_id: string; limit: number; starting_after?: string },
): Promise<{ data: ApiKeyState[]; has_more: boolean }> {
  let query = db
    .selectFrom('api_keys')
    .select(['id', 'state'])
    .where('partner_id', '=', q.partner_id)
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('id', '>', q.starting_after);
  const rows = await query.execute();
  return { data: rows.slice(0, q.limit).map((r) => r.state), has_more: rows.length > q.limit };
}
