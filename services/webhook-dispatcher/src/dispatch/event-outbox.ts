import type { PlatformEvent } from '@pep/contracts';
import { type Kysely, sql } from 'kysely';
import type { DispatcherDB } from '../db/schema.ts';

/** A row of the general event outbox (see the EventOutbox migration). */
export interface OutboxEvent {
  id: string;
  subject: string;
  event: PlatformEvent;
  /** Not published before this time (default: at once). */
  notBefore?: Date;
  /** The replica whose unfinished minute this rollup is. */
  reporter?: string;
}

/** Writes events to the outbox; an id already there is left as it is (ids are deterministic). */
export async function insertOutboxEvents(db: Kysely<DispatcherDB>, rows: OutboxEvent[]): Promise<void> {
  if (rows.length === 0) return;
  const input = rows.map((r) => ({
    id: r.id,
    subject: r.subject,
    event: r.event,
    not_before: (r.notBefore ?? new Date(0)).toISOString(),
    reporter: r.reporter ?? null,
  }));
  await sql`
    insert into webhook_event_outbox (id, subject, event, not_before, reporter)
    select t.id, t.subject, t.event, greatest(t.not_before, now()), t.reporter
    from json_to_recordset(${JSON.stringify(input)}::json) as t(id text, subject text, event jsonb, not_before timestamptz, reporter text)
    on conflict (id) do nothing`.execute(db);
}

/**
 * Takes back (deletes and returns) the rollups of minutes that had not ended when this reporter stopped, when it
 * starts again within them: they are merged into its counts and flushed once the minute is over, so the minute's
 * rollup keeps one id and one complete count.
 */
export async function takeBackUnfinished(db: Kysely<DispatcherDB>, reporter: string, now: Date): Promise<PlatformEvent[]> {
  const r = await sql<{ event: PlatformEvent }>`
    delete from webhook_event_outbox where reporter = ${reporter} and not_before > ${now.toISOString()}::timestamptz
    returning event`.execute(db);
  return r.rows.map((x) => x.event);
}

/**
 * Publishes the due rows (oldest first, up to `limit`) and deletes those published. As with the exhausted outbox, no
 * transaction is open while publishing; a repeat (a crash after a publish, two replicas relaying) carries the same
 * id and is stored once by the stream's duplicate window.
 */
export async function relayEventOutbox(
  db: Kysely<DispatcherDB>,
  publish: (row: { subject: string; event: PlatformEvent }) => Promise<void>,
  now: Date,
  limit = 100,
  onFailed?: (id: string, err: unknown) => void,
): Promise<{ published: number; failed: number }> {
  const rows = await db
    .selectFrom('webhook_event_outbox')
    .select(['id', 'subject', 'event'])
    .where('not_before', '<=', now)
    .orderBy('not_before')
    .orderBy('created_at')
    .limit(limit)
    .execute();
  const done: string[] = [];
  let failed = 0;
  for (const row of rows) {
    try {
      await publish({ subject: row.subject, event: row.event });
      done.push(row.id);
    } catch (err) {
      failed++;
      onFailed?.(row.id, err);
    }
  }
  if (done.length) await db.deleteFrom('webhook_event_outbox').where('id', 'in', done).execute();
  return { published: done.length, failed };
}
