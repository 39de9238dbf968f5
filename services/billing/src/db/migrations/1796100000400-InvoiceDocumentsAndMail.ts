import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/** Credit notes, partners' billing contacts and settings (read models) and the mail outbox (billing's own). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('credit_notes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('invoice_id', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('number', 'text', (c) => c.notNull())
    .addColumn('amount', 'numeric', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('lines', 'jsonb', (c) => c.notNull())
    .addColumn('issued_at', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('credit_notes_invoice_idx').on('credit_notes').columns(['invoice_id', 'issued_at']).execute();
  await db.schema
    .alterTable('invoices')
    .addColumn('credited', 'numeric', (c) => c.notNull().defaultTo(sql`0`))
    .execute();
  await db.schema.alterTable('invoices').addColumn('usage', 'jsonb').execute();
  await db.schema.alterTable('invoices').addColumn('timezone', 'text').execute();
  await db.schema
    .createTable('billing_contacts')
    .addColumn('partner_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .addColumn('email', 'text')
    .addColumn('timezone', 'text')
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('mail_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text')
    .addColumn('ref', 'text')
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('mail_outbox_due_idx').on('mail_outbox').columns(['status', 'next_attempt_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('mail_outbox').ifExists().execute();
  await db.schema.dropTable('billing_contacts').ifExists().execute();
  await db.schema.dropTable('credit_notes').ifExists().execute();
  await db.schema.alterTable('invoices').dropColumn('credited').dropColumn('usage').dropColumn('timezone').execute();
}
