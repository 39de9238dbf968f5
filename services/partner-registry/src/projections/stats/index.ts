import type { StoredEvent } from '@pep/contracts';
import { allFilter, type Projection } from '@pep/events';
import { sql, type Transaction } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';
import { type StatsDelta, statsDeltas } from './fold.ts';
import { STATS_PROJECTION } from './table.ts';

const CHUNK = 1000;

/** Adds a batch's deltas, summed per row in memory first, with one upsert per chunk. */
async function addDeltas(trx: Transaction<RegistryDB>, deltas: StatsDelta[]) {
  const rows = new Map<string, StatsDelta>();
  for (const d of deltas) {
    const key = `${d.partner_id}\u0000${d.day}\u0000${d.metric}\u0000${d.dim}`;
    const row = rows.get(key);
    if (row) row.value += d.value;
    else rows.set(key, { ...d });
  }
  const all = [...rows.values()];
  for (let i = 0; i < all.length; i += CHUNK) {
    await trx
      .insertInto('stats_daily')
      .values(all.slice(i, i + CHUNK))
      .onConflict((oc) =>
        oc.columns(['partner_id', 'day', 'metric', 'dim']).doUpdateSet({ value: sql`stats_daily.value + excluded.value` }),
      )
      .execute();
  }
}

/**
 * Partner and event-type statistics per UTC day, folded from the whole stream (`statsDeltas`) with the checkpoint
 * in the same transaction; rebuildable in place or beside (`npm run ops -- rebuild partner-registry stats`).
 */
export function statsProjection(prefix: string): Projection<RegistryDB> {
  return {
    name: STATS_PROJECTION,
    filterSubject: allFilter(prefix),
    tables: ['stats_daily'],
    async apply(trx, events: StoredEvent[]) {
      await addDeltas(
        trx,
        events.flatMap((e) => statsDeltas(e, prefix)),
      );
    },
    async reset(trx) {
      await trx.deleteFrom('stats_daily').execute();
    },
  };
}
