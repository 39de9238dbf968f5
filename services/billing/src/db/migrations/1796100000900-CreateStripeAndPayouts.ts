import { type Kysely, sql } from 'kysely';

/** Stripe sync (customers, charges, refunds, subscriptions, handled events), attribution inputs and payouts. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Handled Stripe events: inserted in the same transaction as the event's effect (dedupe by event id).
  await db.schema
    .createTable('stripe_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Each partner is a Stripe customer (it pays its plan's invoices) and a Connect account (it is paid its share).
  await db.schema
    .createTable('stripe_partner_accounts')
    .addColumn('partner_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.unique())
    .addColumn('connect_account_id', 'text', (c) => c.unique())
    .execute();
  await db.schema
    .createTable('stripe_invoices')
    .addColumn('invoice_id', 'text', (c) => c.primaryKey())
    .addColumn('stripe_invoice_id', 'text', (c) => c.notNull().unique())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .execute();
  // The platform's customers' charges as Stripe has them, with the partner they are attributed to.
  await db.schema
    .createTable('stripe_charges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('stripe_customer_id', 'text')
    .addColumn('customer_key', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text')
    .addColumn('attribution', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('amount_refunded', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('invoice_id', 'text')
    .execute();
  await db.schema.createIndex('stripe_charges_partner_idx').on('stripe_charges').columns(['partner_id', 'created_at']).execute();
  await db.schema
    .createTable('stripe_refunds')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('charge_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('stripe_subscriptions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('stripe_customer_id', 'text', (c) => c.notNull())
    .addColumn('customer_key', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('canceled_at', 'timestamptz')
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .execute();
  // Projection of install.* (marketplace) and partner.agreement_signed: who a customer is attributed to, at what share.
  await db.schema
    .createTable('customer_installs')
    .addColumn('install_id', 'text', (c) => c.primaryKey())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('installed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('removed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('customer_installs_customer_idx').on('customer_installs').columns(['customer_id', 'installed_at']).execute();
  await db.schema
    .createTable('revenue_share_terms')
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('agreement_id', 'text', (c) => c.notNull())
    .addColumn('effective_at', 'timestamptz', (c) => c.notNull())
    .addColumn('first_year_pct', 'numeric', (c) => c.notNull())
    .addColumn('renewal_pct', 'numeric', (c) => c.notNull())
    .addPrimaryKeyConstraint('revenue_share_terms_pk', ['partner_id', 'agreement_id'])
    .execute();
  await db.schema
    .createTable('payouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('period_start', 'text', (c) => c.notNull())
    .addColumn('period_end', 'text', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('lines', 'jsonb', (c) => c.notNull())
    .addColumn('subtotal', 'bigint', (c) => c.notNull())
    .addColumn('carried_in', 'bigint', (c) => c.notNull())
    .addColumn('total', 'bigint', (c) => c.notNull())
    .addColumn('minimum', 'bigint', (c) => c.notNull())
    .addColumn('payable', 'bigint', (c) => c.notNull())
    .addColumn('carried_out', 'bigint', (c) => c.notNull())
    .addColumn('destination', 'text')
    .addColumn('transfer_id', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('payouts_partner_period_idx').on('payouts').columns(['partner_id', 'period_start']).unique().execute();
  // Every source payment or refund is in exactly one statement.
  await db.schema
    .createTable('payout_lines')
    .addColumn('source_id', 'text', (c) => c.primaryKey())
    .addColumn('payout_id', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'payout_lines',
    'payouts',
    'revenue_share_terms',
    'customer_installs',
    'stripe_subscriptions',
    'stripe_refunds',
    'stripe_charges',
    'stripe_invoices',
    'stripe_partner_accounts',
    'stripe_events',
  ])
    await db.schema.dropTable(t).ifExists().execute();
}
