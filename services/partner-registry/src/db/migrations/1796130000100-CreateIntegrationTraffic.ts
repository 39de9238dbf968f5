import type { Kysely } from 'kysely';

/** Integration metrics and errors from real traffic (the `integration-traffic` read model). */
export const CreateIntegrationTraffic = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('integration_metrics_hourly')
      .addColumn('integration_id', 'text', (c) => c.notNull())
      .addColumn('hour', 'timestamptz', (c) => c.notNull())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('webhook_attempts', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('webhook_succeeded', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('api_requests', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('api_errors', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('by_class', 'jsonb', (c) => c.notNull())
      .addColumn('latency_buckets', 'jsonb', (c) => c.notNull())
      .addColumn('latency_sum', 'bigint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('integration_metrics_hourly_pk', ['integration_id', 'hour'])
      .execute();
    await db.schema
      .createTable('integration_traffic_minutes')
      .addColumn('integration_id', 'text', (c) => c.notNull())
      .addColumn('minute', 'timestamptz', (c) => c.notNull())
      .addColumn('attempts', 'bigint', (c) => c.notNull())
      .addColumn('succeeded', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('integration_traffic_minutes_pk', ['integration_id', 'minute'])
      .execute();
    await db.schema
      .createTable('integration_errors')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('integration_id', 'text', (c) => c.notNull())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('class', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('endpoint_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer')
      .addColumn('status_code', 'integer')
      .addColumn('message', 'text')
      .addColumn('excerpt', 'text')
      .addColumn('mapping_version', 'integer')
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('integration_errors_list_idx')
      .on('integration_errors')
      .columns(['integration_id', 'occurred_at', 'id'])
      .execute();
    await db.schema
      .createTable('integration_traffic_apps')
      .addColumn('integration_id', 'text', (c) => c.primaryKey())
      .addColumn('partner_id', 'text', (c) => c.notNull())
      .addColumn('application_id', 'text', (c) => c.notNull())
      .addColumn('connected', 'boolean', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('integration_traffic_clients')
      .addColumn('client_id', 'text', (c) => c.primaryKey())
      .addColumn('application_id', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    for (const t of [
      'integration_traffic_clients',
      'integration_traffic_apps',
      'integration_errors',
      'integration_traffic_minutes',
      'integration_metrics_hourly',
    ])
      await db.schema.dropTable(t).ifExists().execute();
  },
};
