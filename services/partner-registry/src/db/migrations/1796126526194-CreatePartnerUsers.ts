import type { Kysely } from 'kysely';

export const CreatePartnerUsers = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('partner_users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text')
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('partner_users_partner_idx').on('partner_users').columns(['partner_id', 'id']).execute();
    await db.schema
      .createTable('partner_user_sessions')
      .addColumn('session_hash', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().unique())
      .addColumn('user_id', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('partner_user_sessions_user_idx').on('partner_user_sessions').column('user_id').execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('partner_user_sessions').execute();
    await db.schema.dropTable('partner_users').execute();
  },
};
