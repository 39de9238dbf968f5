import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { code } from '../business/common.ts';
import { EventTypeFilterSchema } from '../webhook/events.ts';

/**
 * A meter is data, not code (OpenMeter's shape): which events it counts (`event_type`), how it folds them
 * (`aggregation`), where the value is (`value_path`, a JSON path into the event's `data`) and which fields
 * split the usage into groups (`group_by`). Usage is kept per partner (the event's `partnerid`), meter and hour.
 */
export const MeterAggregationSchema = z
  .enum(['count', 'sum', 'max', 'unique_count', 'latest'])
  .describe('count: events; sum/max: of the value; unique_count: distinct values; latest: the last value in stream order');
export type MeterAggregation = z.output<typeof MeterAggregationSchema>;

/** A JSON path into the event's `data`: `$.quantity`, `$.usage.tokens`. */
export const ValuePathSchema = safeText()
  .max(200)
  .regex(/^\$(\.[A-Za-z_][A-Za-z0-9_]*){1,8}$/, 'must be a JSON path into the event data like "$.quantity"');

export const MeterSchema = z
  .object({
    code: code().describe('The meter\'s name in usage queries and prices, e.g. "api_requests"'),
    name: safeText().trim().min(1).max(200).optional(),
    event_type: z
      .union([EventTypeFilterSchema, z.array(EventTypeFilterSchema).min(1).max(20)])
      .describe('The event types it counts: one filter or a list of them'),
    origin: z
      .enum(['external', 'domain'])
      .optional()
      .describe('Only events that came from outside (external) or only domain events; absent: both'),
    aggregation: MeterAggregationSchema,
    value_path: ValuePathSchema.optional().describe('Required unless aggregation is count or delta_by_type is given'),
    delta_by_type: z
      .record(safeText().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/), z.number().int().min(-1000).max(1000))
      .refine((d) => Object.keys(d).length >= 1 && Object.keys(d).length <= 20, { message: '1 to 20 event types' })
      .optional()
      .describe(
        'A running total instead of a value read from the event: each event type adds its constant (install.created: 1, ' +
          'install.removed: -1); with aggregation latest a window holds the total at its last change (a gauge)',
      ),
    group_by: z
      .record(safeText().regex(/^[a-z][a-z0-9_]{0,63}$/, 'group names are lower-case snake_case'), ValuePathSchema)
      .refine((g) => Object.keys(g).length <= 5, { message: 'at most 5 groups' })
      .optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.aggregation !== 'count' && !m.value_path && !m.delta_by_type)
      ctx.addIssue({ code: 'custom', path: ['value_path'], message: `value_path is required for aggregation ${m.aggregation}` });
    if (m.delta_by_type && (m.aggregation === 'count' || m.aggregation === 'unique_count' || m.value_path))
      ctx.addIssue({ code: 'custom', path: ['delta_by_type'], message: 'delta_by_type goes with sum, max or latest and no value_path' });
  })
  .meta({ id: 'Meter' });
export type Meter = z.output<typeof MeterSchema>;

/** The partner business event families (DESIGN.md, the standard catalog): what `events_ingested` counts. */
export const BUSINESS_EVENT_FAMILIES = ['lead.*', 'policy.*', 'claim.*', 'user.*', 'integration.*', 'billing.*'] as const;

/**
 * Built-in meters. `api_requests` folds the gateway's per-partner-per-minute rollups; `events_ingested` counts
 * the business events partners publish; `webhook_deliveries_succeeded` counts the dispatcher's successful
 * deliveries (the sum of the dispatcher's per-minute rollups); `active_installs` is a gauge of a partner's active
 * marketplace installs (+1 per install, -1 per uninstall; a window's value is the count after its last change).
 */
export const BUILTIN_METERS: readonly Meter[] = Object.freeze([
  {
    code: 'api_requests',
    name: 'API requests',
    event_type: 'api_usage.rolled_up',
    origin: 'domain',
    aggregation: 'sum',
    value_path: '$.requests',
  },
  {
    code: 'events_ingested',
    name: 'Business events ingested',
    event_type: [...BUSINESS_EVENT_FAMILIES],
    origin: 'external',
    aggregation: 'count',
  },
  {
    code: 'webhook_deliveries_succeeded',
    name: 'Webhook deliveries succeeded',
    event_type: 'webhook.deliveries.rolled_up',
    origin: 'domain',
    aggregation: 'sum',
    value_path: '$.succeeded',
  },
  {
    code: 'active_installs',
    name: 'Active marketplace installs',
    event_type: ['install.created', 'install.removed'],
    origin: 'domain',
    aggregation: 'latest',
    delta_by_type: { 'install.created': 1, 'install.removed': -1 },
  },
]);
