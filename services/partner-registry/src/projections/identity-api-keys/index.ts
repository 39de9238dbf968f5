import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, foldBatch, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { type ApiKeyState, evolveApiKey, isApiKeyEvent } from '../../domain/api-key/api-key.ts';
import { API_KEYS_PROJECTION } from './table.ts';

type Db = Kysely<RegistryDB>;

/** Folds a batch with the aggregate's own `evolveApiKey` and writes the touched rows back. */
export async function applyApiKeyEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  await foldBatch(events, {
    handles: isApiKeyEvent,
    idOf: (e) => e.data.api_key_id,
    load: async (ids) =>
      (await trx.selectFrom('api_keys').select(['id', 'state']).where('id', 'in', ids).execute()).map((r) => [r.id, r.state] as const),
    evolve: evolveApiKey,
    save: async (keys) => {
      await trx
        .insertInto('api_keys')
        .values(keys.map((s) => ({ id: s.id, partner_id: s.partner_id, state: JSON.stringify(s) })))
        .onConflict((oc) => oc.column('id').doUpdateSet({ state: sql`excluded.state` }))
        .execute();
    },
  });
}

export function apiKeysProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: API_KEYS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'api_key'),
    apply: applyApiKeyEvents,
    async reset(trx) {
      await trx.deleteFrom('api_keys').execute();
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
