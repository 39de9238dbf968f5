import type { Kysely } from 'kysely';

export const CreateOAuthClients = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('oauth_clients')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('application_id', 'text', (c) => c.notNull())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('state', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('oauth_clients_application_idx').on('oauth_clients').columns(['application_id', 'client_id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('oauth_clients').execute();
  },
};
