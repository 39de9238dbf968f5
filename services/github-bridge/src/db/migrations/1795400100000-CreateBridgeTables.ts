import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deliveries')
    .addColumn('delivery_id', 'text', (c) => c.primaryKey())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('repo_insights')
    .addColumn('repository_id', 'bigint', (c) => c.primaryKey())
    .addColumn('repository', 'text', (c) => c.notNull())
    .addColumn('commits', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pushes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pull_requests', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('merged_pull_requests', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('releases', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_activity_at', 'text')
    .execute();
  await db.schema.createIndex('repo_insights_name_idx').on('repo_insights').expression(sql`lower(repository)`).execute();
  await db.schema
    .createTable('repo_pulls')
    .addColumn('repository_id', 'bigint', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('merged_at', 'text')
    .addColumn('closed_at', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('repo_pulls_pk', ['repository_id', 'number'])
    .execute();
  await db.schema
    .createTable('repo_issues')
    .addColumn('repository_id', 'bigint', (c) => c.notNull())
    .addColumn('number', 'integer', (c) => c.notNull())
    .addColumn('open', 'boolean', (c) => c.notNull())
    .addPrimaryKeyConstraint('repo_issues_pk', ['repository_id', 'number'])
    .execute();
  await db.schema
    .createTable('installations')
    .addColumn('installation_id', 'bigint', (c) => c.primaryKey())
    .addColumn('account', 'text', (c) => c.notNull())
    .addColumn('repositories', 'jsonb', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['installations', 'repo_issues', 'repo_pulls', 'repo_insights', 'deliveries'])
    await db.schema.dropTable(t).ifExists().execute();
}
