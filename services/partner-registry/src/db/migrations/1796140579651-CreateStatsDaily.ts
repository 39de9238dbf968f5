import { type Kysely, sql } from 'kysely';

/** The statistics read model: one figure per partner, UTC day, metric and dimension. */
export const CreateStatsDaily = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('stats_daily')
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('day', 'date', (c) => c.notNull())
      .addColumn('metric', 'text', (c) => c.notNull())
      .addColumn('dim', 'text', (c) => c.notNull())
      .addColumn('value', 'bigint', (c) => c.notNull().defaultTo(sql`0`))
      .addPrimaryKeyConstraint('stats_daily_pk', ['partner_id', 'day', 'metric', 'dim'])
      .execute();
    // Platform-wide event-type statistics read by day and metric across partners.
    await db.schema.createIndex('stats_daily_day_metric_idx').on('stats_daily').columns(['day', 'metric', 'dim']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('stats_daily').execute();
  },
};
