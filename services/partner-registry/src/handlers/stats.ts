import { EventStatsQuerySchema, PartnerStatsQuerySchema, STATS_RPC } from '@pep/contracts';
import { NotFoundError, parseOrThrow } from '@pep/runtime';
import { assertVisible, handler, listScope, ok, okFile, type RpcHandler } from '@pep/service';
import { z } from 'zod';
import { type CsvCell, toCsv } from '../app/stats-csv.ts';
import { findPartner } from '../projections/partners/index.ts';
import { periodBounds, statsRange, statsRows } from '../projections/stats/queries.ts';
import type { HandlerDeps } from './deps.ts';

const IdParams = z.object({ id: z.string().min(1).max(64) });
const PARTNER_FIGURES = [
  'api_requests',
  'api_errors',
  'delivery_attempts',
  'deliveries_succeeded',
  'deliveries_failed',
  'incidents',
  'rollbacks',
] as const;
const TYPE_METRICS = ['events', 'type_attempts', 'type_succeeded', 'type_failed'];
const CSV = 'text/csv; charset=utf-8';

const successRate = (succeeded: number, failed: number) =>
  succeeded + failed === 0 ? null : Math.round((succeeded / (succeeded + failed)) * 10_000) / 10_000;

/** Partner statistics (`GET /v1/partners/{id}/stats`) and event-type statistics (`GET /v1/events/stats`). */
export function statsHandlers(deps: HandlerDeps): Record<string, RpcHandler> {
  const h = (fn: Parameters<typeof handler>[1]) => handler(deps.logger, fn);
  return {
    [STATS_RPC.partner]: h(async (req) => {
      const { id } = parseOrThrow(IdParams, req.params);
      assertVisible(req.principal, id, `partner ${id}`);
      const q = parseOrThrow(PartnerStatsQuerySchema, req.query ?? {});
      const partner = await findPartner(deps.db, id);
      if (!partner) throw new NotFoundError(`partner ${id} not found`);
      const range = statsRange(q, deps.now());
      const rows = await statsRows(deps.db, range, { partnerId: id });
      const data = range.periods.map((p) => {
        const { period_start, period_end } = periodBounds(p, range.granularity);
        const mine = rows.filter((r) => r.period === period_start);
        const figure = (metric: string) => mine.filter((r) => r.metric === metric).reduce((n, r) => n + r.value, 0);
        const events_by_type = Object.fromEntries(mine.filter((r) => r.metric === 'events').map((r) => [r.dim, r.value]));
        return {
          period_start,
          period_end,
          events_published: figure('events'),
          events_by_type,
          ...(Object.fromEntries(PARTNER_FIGURES.map((m) => [m, figure(m)])) as Record<(typeof PARTNER_FIGURES)[number], number>),
        };
      });
      const from = range.from.toISOString().slice(0, 10);
      const to = range.to.toISOString().slice(0, 10);
      if (q.format === 'csv') {
        const types = [...new Set(data.flatMap((b) => Object.keys(b.events_by_type)))].sort();
        const header = [
          'partner_id',
          'partner_name',
          'period_start',
          'period_end',
          'events_published',
          ...PARTNER_FIGURES,
          ...types.map((t) => `events:${t}`),
        ];
        const body: CsvCell[][] = data.map((b) => [
          partner.id,
          partner.name,
          b.period_start,
          b.period_end,
          b.events_published,
          ...PARTNER_FIGURES.map((m) => b[m]),
          ...types.map((t) => b.events_by_type[t] ?? 0),
        ]);
        return okFile(toCsv(header, body), CSV, `partner-stats-${partner.id}-${from}-${to}.csv`);
      }
      return ok({
        object: 'partner_stats',
        partner_id: partner.id,
        partner_name: partner.name,
        granularity: range.granularity,
        from,
        to,
        data,
      });
    }),

    [STATS_RPC.events]: h(async (req) => {
      const q = parseOrThrow(EventStatsQuerySchema, req.query ?? {});
      const partnerId = listScope(req.principal, q.partner_id);
      const range = statsRange(q, deps.now());
      const rows = await statsRows(deps.db, range, { partnerId, metrics: TYPE_METRICS, dim: q.type });
      const cells = new Map<string, { period: string; type: string; figures: Record<string, number> }>();
      for (const r of rows) {
        const key = `${r.period}\u0000${r.dim}`;
        const c = cells.get(key) ?? { period: r.period, type: r.dim, figures: {} };
        c.figures[r.metric] = (c.figures[r.metric] ?? 0) + r.value;
        cells.set(key, c);
      }
      const data = [...cells.values()]
        .sort((a, b) => (a.period === b.period ? (a.type < b.type ? -1 : 1) : a.period < b.period ? -1 : 1))
        .map((c) => {
          const succeeded = c.figures.type_succeeded ?? 0;
          const failed = c.figures.type_failed ?? 0;
          return {
            ...periodBounds(new Date(`${c.period}T00:00:00Z`), range.granularity),
            type: c.type,
            events_published: c.figures.events ?? 0,
            delivery_attempts: c.figures.type_attempts ?? 0,
            deliveries_succeeded: succeeded,
            deliveries_failed: failed,
            delivery_success_rate: successRate(succeeded, failed),
          };
        });
      const from = range.from.toISOString().slice(0, 10);
      const to = range.to.toISOString().slice(0, 10);
      if (q.format === 'csv') {
        const header = [
          'period_start',
          'period_end',
          'type',
          'events_published',
          'delivery_attempts',
          'deliveries_succeeded',
          'deliveries_failed',
          'delivery_success_rate',
        ];
        const body: CsvCell[][] = data.map((d) => [
          d.period_start,
          d.period_end,
          d.type,
          d.events_published,
          d.delivery_attempts,
          d.deliveries_succeeded,
          d.deliveries_failed,
          d.delivery_success_rate,
        ]);
        return okFile(toCsv(header, body), CSV, `event-stats-${partnerId ?? 'platform'}-${from}-${to}.csv`);
      }
      return ok({ object: 'event_stats', partner_id: partnerId ?? null, granularity: range.granularity, from, to, data });
    }),
  };
}
