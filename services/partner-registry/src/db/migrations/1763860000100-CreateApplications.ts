import type { Kysely } from 'kysely';

export const CreateApplications = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('applications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('doc', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('applications_partner_idx').on('applications').columns(['partner_id', 'id']).execute();
    await db.schema.createIndex('applications_status_idx').on('applications').columns(['status', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('applications').execute();
  },
};
