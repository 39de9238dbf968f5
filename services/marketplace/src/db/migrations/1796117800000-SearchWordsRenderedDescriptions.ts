import { type Kysely, sql } from 'kysely';

/**
 * Search speed and safe descriptions:
 * - `search_words`: the distinct words of listing names and taglines with a trigram GiST index, so a misspelled
 *   query word is corrected by a nearest-neighbour lookup (`word <-> $w`, indexed) instead of comparing the query
 *   with every listing; the corrected words then go through the full-text GIN index like any other;
 * - the full-text GIN index without a pending list (`fastupdate = off`);
 * - an index on `lower(name)` for the exact-name match (the name trigram index is no longer used);
 * - `description_html`: the long description rendered (Markdown, raw HTML off) when the catalog applies it;
 * - `rating_totals`: the marketplace-wide review count and sum (the prior C of the weighted rating), one row
 *   kept by the reviews projection instead of summing every listing's ratings on each read.
 * - `integration_health`: the latest health of each integration of an application (registry's integration events),
 *   for the featured criteria.
 * Rows for existing data are filled by a rebuild of the catalog and reviews projections.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('search_words')
    .addColumn('word', 'text', (c) => c.primaryKey())
    .execute();
  await sql`create index search_words_trgm_idx on search_words using gist (word gist_trgm_ops)`.execute(db);
  await sql`create index listings_name_lower_idx on listings (lower(name))`.execute(db);
  await sql`drop index if exists listings_name_trgm_idx`.execute(db);
  // Without a pending list: every insert goes into the index itself, so a search never scans a long pending list
  // (which the catalog's bursts of inserts would build until the next vacuum).
  await sql`alter index listings_search_doc_idx set (fastupdate = off)`.execute(db);
  await db.schema
    .alterTable('listings')
    .addColumn('description_html', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .createTable('rating_totals')
    .addColumn('id', 'smallint', (c) => c.primaryKey())
    .addColumn('review_count', 'bigint', (c) => c.notNull())
    .addColumn('rating_sum', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('integration_health')
    .addColumn('integration_id', 'text', (c) => c.primaryKey())
    .addColumn('application_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('integration_health_app_idx').on('integration_health').columns(['application_id', 'status']).execute();
  await sql`insert into rating_totals (id, review_count, rating_sum)
            select 1, coalesce(sum(review_count), 0), coalesce(sum(rating_sum), 0) from listing_ratings`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('integration_health').execute();
  await sql`alter index listings_search_doc_idx reset (fastupdate)`.execute(db);
  await db.schema.dropTable('rating_totals').execute();
  await db.schema.alterTable('listings').dropColumn('description_html').execute();
  await sql`create index if not exists listings_name_trgm_idx on listings using gin (lower(name) gin_trgm_ops)`.execute(db);
  await sql`drop index if exists listings_name_lower_idx`.execute(db);
  await db.schema.dropTable('search_words').execute();
}
