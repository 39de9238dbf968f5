import { STATS_MAX_BUCKETS, type StatsGranularity } from '@pep/contracts';
import { ValidationError } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type { RegistryDB } from '../../db/schema.ts';

const DAY_MS = 86_400_000;

/** Start of the UTC day, ISO week (Monday) or month containing `d`. */
export function periodStart(d: Date, g: StatsGranularity): Date {
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  if (g === 'day') return day;
  if (g === 'week') return new Date(day.getTime() - ((day.getUTCDay() + 6) % 7) * DAY_MS);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export function nextPeriod(d: Date, g: StatsGranularity): Date {
  if (g === 'day') return new Date(d.getTime() + DAY_MS);
  if (g === 'week') return new Date(d.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

export interface StatsRange {
  from: Date;
  to: Date;
  granularity: StatsGranularity;
  /** Every period start in [from, to). */
  periods: Date[];
}

/** The whole periods covering [from, to): from rounded down, to rounded up; defaults: the 30 days up to tomorrow. */
export function statsRange(
  q: { from?: string | undefined; to?: string | undefined; granularity: StatsGranularity },
  now: Date,
): StatsRange {
  const toRaw = q.to ? new Date(`${q.to}T00:00:00Z`) : new Date(periodStart(now, 'day').getTime() + DAY_MS);
  const fromRaw = q.from ? new Date(`${q.from}T00:00:00Z`) : new Date(toRaw.getTime() - 30 * DAY_MS);
  if (toRaw.getTime() <= fromRaw.getTime()) throw new ValidationError([{ path: 'to', message: 'must be after from' }]);
  const from = periodStart(fromRaw, q.granularity);
  let to = periodStart(toRaw, q.granularity);
  if (to.getTime() < toRaw.getTime()) to = nextPeriod(to, q.granularity);
  const periods: Date[] = [];
  for (let p = from; p.getTime() < to.getTime(); p = nextPeriod(p, q.granularity)) {
    periods.push(p);
    if (periods.length > STATS_MAX_BUCKETS) {
      throw new ValidationError([
        { path: 'from', message: `the range holds more than ${STATS_MAX_BUCKETS} periods; narrow it or use a larger granularity` },
      ]);
    }
  }
  return { from, to, granularity: q.granularity, periods };
}

export interface StatsRow {
  period: string;
  metric: string;
  dim: string;
  value: number;
}

/** The figures of [from, to) summed per period, metric and dimension; one partner or (undefined) every partner. */
export async function statsRows(
  db: Kysely<RegistryDB>,
  r: StatsRange,
  f: { partnerId?: string | undefined; metrics?: string[]; dim?: string | undefined },
): Promise<StatsRow[]> {
  const period = sql<string>`to_char(date_trunc(${r.granularity}, day::timestamp), 'YYYY-MM-DD')`;
  let q = db
    .selectFrom('stats_daily')
    .select([period.as('period'), 'metric', 'dim', sql<string>`sum(value)::text`.as('value')])
    .where('day', '>=', isoDay(r.from))
    .where('day', '<', isoDay(r.to));
  if (f.partnerId !== undefined) q = q.where('partner_id', '=', f.partnerId);
  if (f.metrics) q = q.where('metric', 'in', f.metrics);
  if (f.dim !== undefined) q = q.where('dim', '=', f.dim);
  const rows = await q.groupBy([sql`1`, 'metric', 'dim']).orderBy(sql`1`).orderBy('metric').orderBy('dim').execute();
  return rows.map((x) => ({ period: x.period, metric: x.metric, dim: x.dim, value: Number(x.value) }));
}

export const periodBounds = (p: Date, g: StatsGranularity) => ({
  period_start: isoDay(p),
  period_end: isoDay(nextPeriod(p, g)),
});
