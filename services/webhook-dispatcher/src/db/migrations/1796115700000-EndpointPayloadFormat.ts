import { type Kysely, sql } from 'kysely';

/**
 * Each endpoint's payload format (`standard_webhooks`, `cloudevents_structured`, `cloudevents_binary`).
 * Existing rows, folded from events that predate the field, get the default.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('webhook_endpoints')
    .addColumn('payload_format', 'text', (c) =>
      c
        .notNull()
        .defaultTo('standard_webhooks')
        .check(sql`payload_format in ('standard_webhooks', 'cloudevents_structured', 'cloudevents_binary')`),
    )
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_endpoints').dropColumn('payload_format').execute();
}
