import { type Kysely, sql } from 'kysely';

/**
 * A general outbox of events the dispatcher emits besides `webhook.delivery.exhausted`: traffic rollups
 * (`webhook.deliveries.rolled_up`) and integration errors (`integration.delivery_failed`,
 * `integration.mapping_failed`). A row holds the whole event under its deterministic id; the relay publishes the
 * rows whose `not_before` has passed and deletes them. A rollup of a minute that was still running at shutdown
 * waits until the minute is over (`not_before`) and is taken back by its `reporter` if it starts again before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_event_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('event', 'jsonb', (c) => c.notNull())
    .addColumn('not_before', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('reporter', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('webhook_event_outbox_due').on('webhook_event_outbox').columns(['not_before', 'created_at']).execute();
  // Stored events by id (a mapping preview of a delivered event).
  await db.schema.createIndex('webhook_events_id').on('webhook_events').column('id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('webhook_events_id').ifExists().execute();
  await db.schema.dropTable('webhook_event_outbox').ifExists().execute();
}
