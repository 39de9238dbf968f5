import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, foldBatch, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { evolveOAuthClient, isOAuthClientEvent, type OAuthClientState } from '../../domain/oauth-client/oauth-client.ts';
import { OAUTH_CLIENTS_PROJECTION } from './table.ts';

type Db = Kysely<RegistryDB>;

/** Folds a batch with the aggregate's own `evolveOAuthClient` and writes the touched rows back. */
export async function applyOAuthClientEvents(trx: Transaction<RegistryDB>, events: StoredEvent[]): Promise<void> {
  await foldBatch(events, {
    handles: isOAuthClientEvent,
    idOf: (e) => e.data.client_id,
    load: async (ids) =>
      (await trx.selectFrom('oauth_clients').select(['client_id', 'state']).where('client_id', 'in', ids).execute()).map(
        (r) => [r.client_id, r.state] as const,
      ),
    evolve: evolveOAuthClient,
    save: async (clients) => {
      await trx
        .insertInto('oauth_clients')
        .values(
          clients.map((s) => ({
            client_id: s.client_id,
            application_id: s.application_id,
            partner_id: s.partner_id,
            state: JSON.stringify(s),
          })),
        )
        .onConflict((oc) => oc.column('client_id').doUpdateSet({ state: sql`excluded.state` }))
        .execute();
    },
  });
}

export function oauthClientsProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: OAUTH_CLIENTS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'oauth_client'),
    apply: applyOAuthClientEvents,
    async reset(trx) {
      await trx.deleteFrom('oauth_clients').execute();
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
