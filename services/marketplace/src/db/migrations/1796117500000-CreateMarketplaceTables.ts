import { type Kysely, sql } from 'kysely';

/**
 * The catalog (partners, listings with their search document), installs and per-listing stats. Search uses
 * PostgreSQL full text (a weighted, generated tsvector with a GIN index) and pg_trgm for typo tolerance;
 * pg_trgm ships with PostgreSQL (contrib) and is created in this service's own database.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);
  await db.schema
    .createTable('partners')
    .addColumn('partner_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('listings')
    .addColumn('listing_id', 'text', (c) => c.primaryKey())
    .addColumn('application_id', 'text', (c) => c.notNull().unique())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('tagline', 'text')
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('categories', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('pricing', 'text')
    .addColumn('official', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('privacy_url', 'text')
    .addColumn('terms_url', 'text')
    .addColumn('published_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addColumn('search_doc', sql`tsvector`, (c) =>
      c
        .generatedAlwaysAs(
          sql`setweight(to_tsvector('english'::regconfig, coalesce(name, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(tagline, '')), 'B') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'C')`,
        )
        .stored(),
    )
    .execute();
  await sql`create index listings_search_doc_idx on listings using gin (search_doc)`.execute(db);
  await sql`create index listings_name_trgm_idx on listings using gin (lower(name) gin_trgm_ops)`.execute(db);
  await sql`create index listings_categories_idx on listings using gin (categories)`.execute(db);
  await db.schema.createIndex('listings_published_idx').on('listings').columns(['published_at desc', 'listing_id']).execute();
  await db.schema.createIndex('listings_partner_idx').on('listings').column('partner_id').execute();

  await db.schema
    .createTable('installs')
    .addColumn('install_id', 'text', (c) => c.primaryKey())
    .addColumn('listing_id', 'text', (c) => c.notNull())
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('partner_id', 'text', (c) => c.notNull())
    .addColumn('customer_id', 'text', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull())
    .addColumn('installed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('removed_at', 'timestamptz')
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  // The read model's own guard of the rule the install aggregate enforces: one active install per pair.
  await sql`create unique index installs_active_pair_idx on installs (listing_id, customer_id) where active`.execute(db);
  await db.schema.createIndex('installs_customer_idx').on('installs').columns(['customer_id', 'install_id']).execute();
  await db.schema.createIndex('installs_partner_idx').on('installs').columns(['partner_id', 'install_id']).execute();

  await db.schema
    .createTable('listing_stats')
    .addColumn('listing_id', 'text', (c) => c.primaryKey())
    .addColumn('active_installs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('total_installs', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('trend_weight', 'float8', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_seq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('listing_stats_active_idx').on('listing_stats').columns(['active_installs desc', 'listing_id']).execute();
  await db.schema.createIndex('listing_stats_trend_idx').on('listing_stats').columns(['trend_weight desc', 'listing_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['listing_stats', 'installs', 'listings', 'partners']) await db.schema.dropTable(t).ifExists().execute();
  await sql`drop extension if exists pg_trgm`.execute(db);
}
