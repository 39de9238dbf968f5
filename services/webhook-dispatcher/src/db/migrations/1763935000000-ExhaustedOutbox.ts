import { type Kysely, sql } from 'kysely';

/**
 * Outbox of `webhook.delivery.exhausted` events: a row is written in the same statement that marks a
 * delivery failed, and a relay publishes and deletes it, so a crash between the commit and the publish no
 * longer loses the event.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_outbox')
    .addColumn('delivery_id', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('webhook_outbox_pk', ['delivery_id', 'attempts'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_outbox').ifExists().execute();
}
