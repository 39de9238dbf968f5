import { z } from 'zod';
import { safeDatetime, safeJson, safeText } from '../common/text.ts';
import { defineRoutes, type RouteContract } from '../http/routes.ts';
import { OPS_SERVICES, type OpsService } from './services.ts';

/**
 * Operator routes of the admin console (platform admins only): what `pnpm ops` does over NATS, over HTTP. Every
 * service run by @pep/service answers the `ops.*` requests (projection status and lag, rebuild, dead letters), so
 * each gets the same routes under `/v1/admin/services/<service>/`. The service is part of the literal path (a
 * route forwards to one service), so a new service is one line in OPS_SERVICES.
 */

export const RebuildProgressSchema = z.object({
  projection: safeText(),
  mode: safeText(),
  state: safeText().describe('building, switching, done or failed'),
  applied: z.number().int(),
  target: z.number().int(),
  events: z.number().int(),
  startedAt: safeText(),
  finishedAt: safeText().optional(),
  error: safeText().optional(),
});

export const ProjectionStatusSchema = z
  .object({
    name: safeText(),
    filter: safeText().optional(),
    checkpoint: z.number().int().describe('Stream sequence of the last event applied'),
    lag: z.number().int().describe("The stream's last sequence on the projection's filter (-1 when NATS cannot be read)"),
    behind: z.number().int().describe('Events on the filter not applied yet'),
    state: safeText().describe('ok, degraded (open dead letters), stalled, failed'),
    reason: safeText().optional(),
    open_dead_letters: z.number().int(),
    consumers_recreated: z.number().int(),
    rebuild: RebuildProgressSchema.optional().describe('The latest rebuild beside the live read model'),
  })
  .meta({ id: 'ProjectionStatus' });

export const ConsumerLagSchema = z
  .object({
    durable: safeText().describe("A durable consumer (work queue) of the service's workers"),
    pending: z.number().int().describe('Messages not delivered yet: the lag'),
    ackPending: z.number().int().describe('Delivered, not acknowledged yet'),
  })
  .meta({ id: 'ConsumerLag' });

export const OpsStatusSchema = z
  .object({
    data: z.array(ProjectionStatusSchema),
    consumers: z.array(ConsumerLagSchema),
  })
  .meta({ id: 'OpsStatus' });

export const RebuildBody = z
  .object({
    projection: safeText().trim().min(1).max(200),
    from: z.enum(['start', 'seq', 'time']).default('start').describe('In place: from the start, a stream sequence or a time'),
    seq: z.number().int().min(1).optional().describe("With `from: 'seq'`"),
    time: safeDatetime({ offset: true }).optional().describe("With `from: 'time'`"),
    beside: z.boolean().default(false).describe('Build a shadow copy from sequence 1 and switch over atomically'),
  })
  .strict()
  .refine((b) => b.from !== 'seq' || b.seq !== undefined, { path: ['seq'], message: "required with from 'seq'" })
  .refine((b) => b.from !== 'time' || b.time !== undefined, { path: ['time'], message: "required with from 'time'" })
  .meta({ id: 'RebuildProjection' });

export const DeadLetterSchema = z
  .object({
    id: z.number().int(),
    consumer: safeText().describe('`projection:<name>` or a worker durable'),
    stream_seq: z.number().int(),
    subject: safeText(),
    event_id: safeText().nullable(),
    event_type: safeText().nullable(),
    payload: safeText(),
    error: safeText(),
    attempts: z.number().int(),
    created_at: safeText(),
    retried_at: safeText().nullable(),
    discarded_at: safeText().nullable(),
  })
  .meta({ id: 'DeadLetter' });

export const DeadLetterActionBody = z
  .object({ id: z.number().int().min(1).describe('The dead letter id') })
  .strict()
  .meta({ id: 'DeadLetterAction' });

export const DeadLetterQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });

const pascal = (s: string) =>
  s
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

function opsRoutesOf(service: OpsService): RouteContract[] {
  const base = `/v1/admin/services/${service}`;
  const common = { tag: 'Operations', service, scope: 'admin', adminOnly: true } as const;
  const name = pascal(service);
  return [
    {
      ...common,
      operationId: `getOpsStatus${name}`,
      method: 'GET',
      path: `${base}/projections`,
      summary: `${service}: its projections (checkpoint, lag, state, rebuild progress) and its durable consumers' lag`,
      pattern: 'ops.projections',
      success: { status: 200, schema: OpsStatusSchema },
      errors: [403],
    },
    {
      ...common,
      operationId: `rebuildProjection${name}`,
      method: 'POST',
      path: `${base}/projections/rebuild`,
      summary: `${service}: rebuild a projection (in place, or beside the live one); follow it in the status`,
      pattern: 'ops.rebuild',
      body: RebuildBody,
      success: { status: 202, schema: z.record(safeText(), safeJson()) },
      errors: [403],
    },
    {
      ...common,
      operationId: `listDeadLetters${name}`,
      method: 'GET',
      path: `${base}/dead-letters`,
      summary: `${service}: dead-lettered events of its projections and workers`,
      pattern: 'ops.dead-letters',
      query: DeadLetterQuery,
      success: { status: 200, schema: z.object({ data: z.array(DeadLetterSchema) }) },
      errors: [403],
    },
    {
      ...common,
      operationId: `retryDeadLetter${name}`,
      method: 'POST',
      path: `${base}/dead-letters/retry`,
      summary: `${service}: process a dead-lettered event again (after its cause was fixed)`,
      pattern: 'ops.dead-letters.retry',
      body: DeadLetterActionBody,
      success: { status: 200, schema: z.object({ id: z.number().int(), retried: z.boolean() }).catchall(safeJson()) },
      errors: [403],
    },
    {
      ...common,
      operationId: `discardDeadLetter${name}`,
      method: 'POST',
      path: `${base}/dead-letters/discard`,
      summary: `${service}: settle a dead letter without applying it`,
      pattern: 'ops.dead-letters.discard',
      body: DeadLetterActionBody,
      success: { status: 200, schema: z.object({ id: z.number().int(), discarded: z.boolean() }) },
      errors: [403],
    },
  ];
}

export const opsRoutes = defineRoutes(OPS_SERVICES.flatMap(opsRoutesOf));

export type ProjectionStatus = z.output<typeof ProjectionStatusSchema>;
export type ConsumerLag = z.output<typeof ConsumerLagSchema>;
export type OpsStatus = z.output<typeof OpsStatusSchema>;
export type DeadLetter = z.output<typeof DeadLetterSchema>;
