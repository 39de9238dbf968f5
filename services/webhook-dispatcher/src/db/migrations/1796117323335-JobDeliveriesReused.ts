import type { Kysely } from 'kysely';

/**
 * Jobs count the deliveries they reuse (resend, recover: same `webhook-id`) apart from those they create
 * (replay), so `deliveries_created` is no longer 1 for a resend that made nothing new.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('webhook_jobs')
    .addColumn('deliveries_reused', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_jobs').dropColumn('deliveries_reused').execute();
}
