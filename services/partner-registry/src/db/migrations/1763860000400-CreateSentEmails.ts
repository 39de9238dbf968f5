import { type Kysely, sql } from 'kysely';

export const CreateSentEmails = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('sent_emails')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('recipients', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('sent_emails').execute();
  },
};
