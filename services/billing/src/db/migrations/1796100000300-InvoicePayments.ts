import type { Kysely } from 'kysely';
import { sql } from 'kysely';

/** Payments of an invoice (billing.invoice_paid / billing.invoice_payment_failed) on its read-model row. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('invoices')
    .addColumn('amount_paid', 'numeric', (c) => c.notNull().defaultTo(sql`0`))
    .addColumn('paid_at', 'text')
    .addColumn('payment_ref', 'text')
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_retry_at', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('invoices')
    .dropColumn('amount_paid')
    .dropColumn('paid_at')
    .dropColumn('payment_ref')
    .dropColumn('failed_attempts')
    .dropColumn('next_retry_at')
    .execute();
}
