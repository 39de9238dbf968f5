import type { StoredEvent } from '@pep/contracts';
import { type PlatformTables, platformView } from '@pep/db';
import type { Logger } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type { EventBus } from './connection.ts';
import type { Projection, RebuildFrom } from './projection-types.ts';
import { DeadLetterRetryError } from './projection-errors.ts';

/** What an operator does to one projection beside its loop: retry a dead letter, count open ones, rebuild in place. */

/** Dead letters of this projection that no operator has retried or discarded yet. */
export async function openProjectionDeadLetters(db: Kysely<PlatformTables>, name: string): Promise<number> {
  const row = await db
    .selectFrom('dead_letters')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('consumer', '=', `projection:${name}`)
    .where('retried_at', 'is', null)
    .where('discarded_at', 'is', null)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Applies a dead-lettered event of the projection again (the operator fixed the cause), outside the checkpoint
 * (which moved past it when it was skipped), in one transaction with marking the letter retried; a failure leaves
 * the letter open with its new error.
 */
export async function retryProjectionDeadLetter<DB extends PlatformTables>(
  db: Kysely<DB>,
  projection: Projection<DB>,
  logger: Logger,
  id: number,
): Promise<void> {
  const d = platformView(db);
  const letter = await d.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
  if (!letter || letter.consumer !== `projection:${projection.name}`)
    throw new DeadLetterRetryError(`dead letter ${id} is not one of projection ${projection.name}`);
  if (letter.retried_at || letter.discarded_at) throw new DeadLetterRetryError(`dead letter ${id} was already settled`);
  let ev: StoredEvent;
  try {
    ev = JSON.parse(letter.payload) as StoredEvent;
    if (!ev.id || !ev.type) throw new Error('no event id or type');
  } catch (err) {
    throw new DeadLetterRetryError(`dead letter ${id} holds no readable event: discard it`, { cause: err });
  }
  try {
    await db.transaction().execute(async (trx) => {
      await projection.apply(trx, [ev]);
      await platformView(trx).updateTable('dead_letters').set({ retried_at: sql`now()` }).where('id', '=', id).execute();
    });
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    await d
      .updateTable('dead_letters')
      .set({ error, attempts: letter.attempts + 1 })
      .where('id', '=', id)
      .execute();
    throw new DeadLetterRetryError(`dead letter ${id} failed again: ${error}`, { cause: err });
  }
  logger.info('projection dead letter retried', { projection: projection.name, id, seq: letter.stream_seq });
}

/** The first stream sequence a rebuild reads. */
export async function rebuildStartSeq(bus: EventBus, from: RebuildFrom): Promise<number> {
  if (from.from === 'seq') return Math.max(1, from.seq);
  if (from.from === 'time') {
    const m = await bus.jsm.streams.getMessage(bus.stream, { start_time: new Date(from.time).toISOString() } as never);
    return m ? m.seq : (await bus.jsm.streams.info(bus.stream)).state.last_seq + 1;
  }
  return 1;
}

/** In place: empties the read model and moves the checkpoint back, under the checkpoint's row lock. */
export async function resetForRebuild<DB extends PlatformTables>(
  db: Kysely<DB>,
  projection: Projection<DB>,
  startSeq: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const t = platformView(trx);
    await t.selectFrom('projection_checkpoints').select('seq').where('name', '=', projection.name).forUpdate().execute();
    await projection.reset(trx);
    await t
      .updateTable('projection_checkpoints')
      .set({ seq: startSeq - 1, updated_at: sql`now()` })
      .where('name', '=', projection.name)
      .execute();
  });
}
