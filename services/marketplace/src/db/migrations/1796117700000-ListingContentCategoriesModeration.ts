import { type Kysely, sql } from 'kysely';

/**
 * A listing's published content (from its own `listing.*` events), its featured window, the admin-managed
 * categories, and review moderation (hidden reviews are kept but not shown or counted).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('listings')
    .addColumn('logo_url', 'text')
    .addColumn('screenshots', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('support_email', 'text')
    .addColumn('documentation_url', 'text')
    .addColumn('pricing_plans', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('content_published_at', 'timestamptz')
    .addColumn('featured_from', 'timestamptz')
    .addColumn('featured_until', 'timestamptz')
    .addColumn('unlisted', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema.createIndex('listings_featured_idx').on('listings').columns(['featured_until', 'featured_from']).execute();
  await db.schema
    .createTable('categories')
    .addColumn('slug', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('parent', 'text')
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .alterTable('reviews')
    .addColumn('hidden', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('hidden_reason', 'text')
    .addColumn('reports', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('reviews').dropColumn('hidden').dropColumn('hidden_reason').dropColumn('reports').execute();
  await db.schema.dropTable('categories').ifExists().execute();
  await db.schema.dropIndex('listings_featured_idx').ifExists().execute();
  await db.schema
    .alterTable('listings')
    .dropColumn('logo_url')
    .dropColumn('screenshots')
    .dropColumn('support_email')
    .dropColumn('documentation_url')
    .dropColumn('pricing_plans')
    .dropColumn('content_published_at')
    .dropColumn('featured_from')
    .dropColumn('featured_until')
    .dropColumn('unlisted')
    .execute();
}
