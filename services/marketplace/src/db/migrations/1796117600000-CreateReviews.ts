import type { Kysely } from 'kysely';

/** Reviews with the partner's answer, and per-listing rating counts (sum and histogram). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('reviews')
    .addColumn('review_id', 'text', (c) => c.primaryKey())
    .addColumn('listing_id', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('rating', 'integer', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('edits', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('response_body', 'text')
    .addColumn('responded_at', 'timestamptz')
    .addColumn('response_updated_at', 'timestamptz')
    .addColumn('submitted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('reviews_listing_idx').on('reviews').columns(['listing_id', 'submitted_at desc', 'review_id']).execute();
  await db.schema
    .createTable('listing_ratings')
    .addColumn('listing_id', 'text', (c) => c.primaryKey())
    .addColumn('review_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('rating_sum', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('r1', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('r2', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('r3', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('r4', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('r5', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('listing_ratings').ifExists().execute();
  await db.schema.dropTable('reviews').ifExists().execute();
}
