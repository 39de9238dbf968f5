import { BUILTIN_METERS, type Meter, MeterSchema, ReportedUsageQuerySchema, type RpcRequest, UsageQuerySchema } from '@pep/contracts';
import type { CommandBus } from '@pep/events';
import { ForbiddenError, NotFoundError, parseOrThrow, ValidationError } from '@pep/runtime';
import { actingPartner, isAdmin, ok } from '@pep/service';
import { readScope } from './tenant.ts';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../db/schema.ts';
import { decideCreateMeter, meterAggregate } from '../domain/meter/decide.ts';
import { listReportedUsage, reportedUsageByEventId, reportedUsageView } from '../projections/reported-usage/index.ts';
import { customMeters, findMeter, usageSeries } from '../projections/usage/index.ts';

export interface UsageHandlerDeps {
  db: Kysely<BillingDB>;
  commands: CommandBus;
  now: () => Date;
  maxBuckets: number;
}

const HOUR_MS = 3_600_000;
const meterView = (meter: Meter, builtin: boolean, created_at: string | null) => ({
  object: 'meter' as const,
  builtin,
  created_at,
  ...meter,
});

/** The default range: the current UTC month. */
const monthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
const nextMonthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));

export function usageHandlers(deps: UsageHandlerDeps) {
  return {
    'usage.get': async (req: RpcRequest) => {
      const q = parseOrThrow(UsageQuerySchema, req.query ?? {});
      const partnerId = actingPartner(req.principal, q.partner_id);
      let meters: Meter[];
      if (q.meter) {
        const found = await findMeter(deps.db, q.meter);
        if (!found) throw new NotFoundError(`meter ${q.meter} not found`);
        meters = [found.meter];
      } else {
        meters = [...BUILTIN_METERS, ...(await customMeters(deps.db)).map((r) => r.definition as Meter)];
      }
      const now = deps.now();
      const to = q.to ? new Date(q.to) : nextMonthStart(now);
      const fromRaw = q.from ? new Date(q.from) : monthStart(now);
      const from = new Date(Math.floor(fromRaw.getTime() / HOUR_MS) * HOUR_MS);
      if (to.getTime() <= from.getTime()) throw new ValidationError([{ path: 'to', message: 'must be after from' }]);
      const buckets = [];
      for (const meter of meters) {
        const left = deps.maxBuckets + 1 - buckets.length;
        if (left <= 0) break;
        const series = await usageSeries(deps.db, { partnerId, meter, from, to, window: q.window, limit: left });
        buckets.push(...series.map((b) => ({ meter: meter.code, ...b })));
      }
      if (buckets.length > deps.maxBuckets) {
        throw new ValidationError([
          { path: 'from', message: `the range holds more than ${deps.maxBuckets} buckets; narrow it or use a larger window` },
        ]);
      }
      const one = q.meter ? meters[0] : undefined;
      return ok({
        object: 'usage',
        partner_id: partnerId,
        meter: one?.code ?? null,
        aggregation: one?.aggregation ?? null,
        window: q.window,
        from: from.toISOString(),
        to: to.toISOString(),
        data: buckets,
      });
    },
    'meters.list': async () => {
      const custom = await customMeters(deps.db);
      return ok({
        data: [
          ...BUILTIN_METERS.map((m) => meterView(m, true, null)),
          ...custom.map((r) => meterView(r.definition as Meter, false, r.created_at)),
        ],
        has_more: false,
      });
    },
    'meters.create': async (req: RpcRequest) => {
      if (!isAdmin(req.principal)) throw new ForbiddenError('only platform administrators define meters');
      const meter = parseOrThrow(MeterSchema, req.body);
      const res = await deps.commands.execute(
        meterAggregate,
        meter.code,
        { correlationId: req.request_id, traceparent: req.traceparent },
        (state) => decideCreateMeter({ type: 'CreateMeter', meter }, state),
      );
      const created = res.events[0];
      return ok(meterView(meter, false, created?.time ?? null), 201);
    },
    'reported-usage.list': async (req: RpcRequest) => {
      const q = parseOrThrow(ReportedUsageQuerySchema, req.query ?? {});
      const partnerId = readScope(req.principal, q.partner_id);
      let startingAfterSeq: number | undefined;
      if (q.starting_after) {
        const cursor = await reportedUsageByEventId(deps.db, q.starting_after);
        if (!cursor || (partnerId !== undefined && cursor.partner_id !== partnerId)) {
          throw new ValidationError([{ path: 'starting_after', message: 'no such report' }]);
        }
        startingAfterSeq = cursor.seq;
      }
      const rows = await listReportedUsage(deps.db, {
        partnerId,
        ...(q.customer_id ? { customerId: q.customer_id } : {}),
        ...(q.metric ? { metric: q.metric } : {}),
        limit: q.limit,
        ...(startingAfterSeq !== undefined ? { startingAfterSeq } : {}),
      });
      return ok({ data: rows.slice(0, q.limit).map(reportedUsageView), has_more: rows.length > q.limit });
    },
  };
}
