import { type Kysely, sql } from 'kysely';

export const CreateIntegrations = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('integrations')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('application_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('health', 'text', (c) => c.notNull())
      .addColumn('doc', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('integrations_partner_idx').on('integrations').columns(['partner_id', 'id']).execute();
    await db.schema
      .createTable('integration_health_schedule')
      .addColumn('integration_id', 'text', (c) => c.primaryKey())
      .addColumn('next_check_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('integration_health_schedule_due_idx').on('integration_health_schedule').column('next_check_at').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('integration_health_schedule').execute();
    await db.schema.dropTable('integrations').execute();
  },
};
