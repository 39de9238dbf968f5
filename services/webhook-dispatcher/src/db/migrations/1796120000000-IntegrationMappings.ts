import type { Kysely } from 'kysely';

/**
 * Integrations shape deliveries: an endpoint may name the integration whose mappings apply; an attempt
 * records the mapping version that shaped its body; `integration_mappings` is the dispatcher's own read
 * model of the integrations' mapping events (it never reads the registry's tables).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_endpoints').addColumn('integration_id', 'text').execute();
  await db.schema.alterTable('webhook_attempts').addColumn('mapping_version', 'integer').execute();
  await db.schema
    .createTable('integration_mappings')
    .addColumn('integration_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('expression', 'text')
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('integration_mappings_pk', ['integration_id', 'event_type'])
    .execute();
  await db.schema
    .createTable('integration_owners')
    .addColumn('integration_id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('connected', 'boolean', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('integration_owners').execute();
  await db.schema.dropTable('integration_mappings').execute();
  await db.schema.alterTable('webhook_attempts').dropColumn('mapping_version').execute();
  await db.schema.alterTable('webhook_endpoints').dropColumn('integration_id').execute();
}
