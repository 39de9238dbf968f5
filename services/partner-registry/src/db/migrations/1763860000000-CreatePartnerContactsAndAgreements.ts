import type { Kysely } from 'kysely';

export const CreatePartnerContactsAndAgreements = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('partner_contacts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('phone', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('partner_contacts_partner_idx').on('partner_contacts').columns(['partner_id', 'id']).execute();
    await db.schema
      .createTable('partner_agreements')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('signed_at', 'text', (c) => c.notNull())
      .addColumn('signed_by', 'text', (c) => c.notNull())
      .addColumn('effective_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('first_year_pct', 'double precision', (c) => c.notNull())
      .addColumn('renewal_pct', 'double precision', (c) => c.notNull())
      .addColumn('terms_url', 'text')
      .addColumn('supersedes', 'text')
      .addColumn('superseded_by', 'text')
      .addUniqueConstraint('partner_agreements_version_uq', ['partner_id', 'version'])
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('partner_agreements').execute();
    await db.schema.dropTable('partner_contacts').execute();
  },
};
