import { z } from 'zod';
import { idParams, PlatformId } from '../common/ids.ts';
import { safeDate, safeText } from '../common/text.ts';
import { EVENT_TYPE_PATTERN } from '../envelope/envelope.ts';
import { defineRoutes } from '../http/routes.ts';

/**
 * Statistics (issue 14): read models the partner registry folds from the stream, per partner and UTC day, answered
 * per day, ISO week (Monday to Monday, UTC) or calendar month (UTC). `from` is rounded down to the start of its
 * period and `to` up to the end of its period, so every bucket is whole. `format=csv` answers the same figures as
 * a CSV file (RFC 4180).
 */
export const StatsGranularitySchema = z.enum(['day', 'week', 'month']);
export type StatsGranularity = z.output<typeof StatsGranularitySchema>;

/** At most this many buckets in one answer (a wider range is a 422 naming `from`). */
export const STATS_MAX_BUCKETS = 400;

const range = {
  from: safeDate().optional().describe('First day (UTC, inclusive, rounded down to its period); default: 30 days before `to`'),
  to: safeDate().optional().describe('Last day (UTC, exclusive, rounded up to its period); default: tomorrow'),
  granularity: StatsGranularitySchema.default('day'),
  format: z.enum(['json', 'csv']).default('json').describe('csv: the same figures as a text/csv attachment'),
};

export const PartnerStatsQuerySchema = z.object(range).strict();

export const EventStatsQuerySchema = z
  .object({
    ...range,
    type: safeText().regex(EVENT_TYPE_PATTERN, 'must look like "lead.created"').optional().describe('Only this event type'),
    partner_id: PlatformId('prt').optional().describe('Admin credentials may narrow to one partner; a partner always sees its own'),
  })
  .strict();

const period = { period_start: safeText(), period_end: safeText() };

export const PartnerStatsBucketSchema = z.object({
  ...period,
  events_published: z.number().int().describe('External events the partner published (by `partnerid`)'),
  events_by_type: z.record(safeText(), z.number().int()),
  api_requests: z.number().int().describe('Requests of its credentials answered by the gateway (api_usage.rolled_up)'),
  api_errors: z.number().int().describe('Of which 4xx and 5xx answers'),
  delivery_attempts: z.number().int().describe('Webhook attempts to its endpoints (webhook.deliveries.rolled_up)'),
  deliveries_succeeded: z.number().int(),
  deliveries_failed: z.number().int().describe('Deliveries that failed for good (retries exhausted)'),
  incidents: z.number().int().describe('Incidents opened (incident.opened)'),
  rollbacks: z.number().int().describe('Rollback runs planned (rollback.planned, skipped runs left out)'),
});

export const PartnerStatsSchema = z
  .object({
    object: z.literal('partner_stats'),
    partner_id: safeText(),
    partner_name: safeText(),
    granularity: StatsGranularitySchema,
    from: safeText(),
    to: safeText(),
    data: z.array(PartnerStatsBucketSchema).describe('One bucket per period of the range, oldest first (zeros included)'),
  })
  .meta({ id: 'PartnerStats' });

export const EventTypeStatsSchema = z.object({
  ...period,
  type: safeText(),
  events_published: z.number().int(),
  delivery_attempts: z.number().int(),
  deliveries_succeeded: z.number().int(),
  deliveries_failed: z.number().int(),
  delivery_success_rate: z
    .number()
    .nullable()
    .describe('deliveries_succeeded / (deliveries_succeeded + deliveries_failed), rounded to 4 places; null without deliveries'),
});

export const EventStatsSchema = z
  .object({
    object: z.literal('event_stats'),
    partner_id: safeText().nullable().describe('null: platform-wide (admin)'),
    granularity: StatsGranularitySchema,
    from: safeText(),
    to: safeText(),
    data: z.array(EventTypeStatsSchema).describe('One row per period and event type that has activity, by period then type'),
  })
  .meta({ id: 'EventStats' });

export const STATS_RPC = { partner: 'stats.partner', events: 'stats.events' } as const;

export const statsRoutes = defineRoutes([
  {
    operationId: 'getPartnerStats',
    method: 'GET',
    path: '/v1/partners/:id/stats',
    summary:
      "A partner's statistics per day, week or month: events published by type, API requests, deliveries by outcome, incidents and rollbacks (CSV with format=csv)",
    tag: 'Statistics',
    service: 'partner-registry',
    pattern: STATS_RPC.partner,
    scope: 'read:partners',
    params: idParams('prt'),
    query: PartnerStatsQuerySchema,
    success: { status: 200, schema: PartnerStatsSchema, description: 'JSON, or text/csv with format=csv' },
  },
  {
    operationId: 'getEventStats',
    method: 'GET',
    path: '/v1/events/stats',
    summary: 'Volume and delivery success per event type (platform-wide for an admin, its own for a partner; CSV with format=csv)',
    tag: 'Statistics',
    service: 'partner-registry',
    pattern: STATS_RPC.events,
    scope: 'read:partners',
    query: EventStatsQuerySchema,
    success: { status: 200, schema: EventStatsSchema, description: 'JSON, or text/csv with format=csv' },
  },
]);
