import { type PlatformTables, platformView } from '@pep/db';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { DeadLetter, DeadLetterSink } from './worker.ts';
import type { RetryClaims } from './worker-retry.ts';

/** Dead letters kept in the service's own database, where operators list and retry them. */
export function pgDeadLetters<DB extends PlatformTables>(db: Kysely<DB>) {
  const d = platformView(db);
  const sink: DeadLetterSink & {
    list(opts?: { consumer?: string; limit?: number }): Promise<Selectable<PlatformTables['dead_letters']>[]>;
    markRetried(id: number): Promise<void>;
    get(id: number): Promise<Selectable<PlatformTables['dead_letters']> | undefined>;
    /** Settles a letter without applying it; false when there is no such open letter. */
    discard(id: number): Promise<boolean>;
  } & RetryClaims = {
    async record(letter: DeadLetter) {
      await d.insertInto('dead_letters').values(letter).execute();
    },
    async list(opts = {}) {
      let q = d
        .selectFrom('dead_letters')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(opts.limit ?? 100);
      if (opts.consumer) q = q.where('consumer', '=', opts.consumer);
      return q.execute();
    },
    async get(id: number) {
      return d.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async discard(id: number) {
      const r = await d
        .updateTable('dead_letters')
        .set({ discarded_at: sql`now()` })
        .where('id', '=', id)
        .where('retried_at', 'is', null)
        .where('discarded_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async claim(id: number) {
      // One statement: of two operators retrying the same letter at once, one gets it.
      return (await d
        .updateTable('dead_letters')
        .set({ retried_at: sql`now()` })
        .where('id', '=', id)
        .where('retried_at', 'is', null)
        .where('discarded_at', 'is', null)
        .returningAll()
        .executeTakeFirst()) as Selectable<PlatformTables['dead_letters']> | undefined;
    },
    async reopen(id: number, error: string) {
      await d
        .updateTable('dead_letters')
        .set((eb) => ({ retried_at: null, error, attempts: eb('attempts', '+', 1) }))
        .where('id', '=', id)
        .execute();
    },
    async markRetried(id: number) {
      await d.updateTable('dead_letters').set({ retried_at: sql`now()` }).where('id', '=', id).execute();
    },
  };
  return sink;
}
