import type { Kysely } from 'kysely';

export const CreateTickets = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('tickets')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('priority', 'text', (c) => c.notNull())
      .addColumn('doc', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tickets_partner_idx').on('tickets').columns(['partner_id', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('tickets').execute();
  },
};
