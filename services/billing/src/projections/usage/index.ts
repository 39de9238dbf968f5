import { BUILTIN_METERS, type Meter, type StoredEvent } from '@pep/contracts';
import { allFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';
import { foldReading, isRunningTotal, type MeterReading, meterMatches, readEvent, type UsageCell } from '../../domain/meter/meter.ts';

export const USAGE_PROJECTION = 'billing-usage';
/** Event types this read model handles besides whatever the meters match. */
export const USAGE_EVENT_TYPES = ['billing.meter_created'] as const;

const CHUNK = 1000;

interface PendingCell {
  reading: MeterReading;
  meter: Meter;
  cell: UsageCell;
}

/** The meters in force inside this transaction: the built-in ones and every custom one created so far. */
async function metersIn(trx: Transaction<BillingDB>): Promise<Meter[]> {
  const rows = await trx.selectFrom('meters').select('definition').orderBy('seq').execute();
  return [...BUILTIN_METERS, ...rows.map((r) => r.definition as Meter)];
}

/**
 * Usage per partner, meter, hour and group: every event of the stream is read by every meter that matches it
 * (`meterMatches`, `readEvent`), folded per cell in memory for the batch, and written with one upsert per
 * aggregation, in the projection's transaction together with the checkpoint (exactly once). A meter defined by
 * `billing.meter_created` meters the events after it in stream order, so the usage is a fold of the stream.
 */
export function usageProjection(prefix: string): Projection<BillingDB> {
  return {
    name: USAGE_PROJECTION,
    filterSubject: allFilter(prefix),
    async apply(trx, events: StoredEvent[]) {
      const meters = await metersIn(trx);
      const cells = new Map<string, PendingCell>();
      const totals = runningTotals(trx);
      for (const e of events) {
        if (e.type === 'billing.meter_created') {
          const m = e.data as Meter;
          if (meters.some((x) => x.code === m.code)) continue;
          meters.push(m);
          await trx
            .insertInto('meters')
            .values({ code: m.code, definition: JSON.stringify(m), created_at: e.time, seq: e.seq })
            .onConflict((oc) => oc.column('code').doNothing())
            .execute();
          continue;
        }
        for (const meter of meters) {
          if (!meterMatches(meter, e, prefix)) continue;
          const reading = readEvent(meter, e);
          if (!reading) continue;
          if (isRunningTotal(meter)) reading.value = await totals.add(reading, reading.value as number);
          const key = `${reading.partnerId}\u0000${reading.meter}\u0000${reading.hour}\u0000${reading.groupKey}`;
          const pending = cells.get(key);
          const cell = foldReading(meter, pending?.cell, reading, e.seq);
          if (!pending) cells.set(key, { reading, meter, cell });
        }
      }
      await writeCells(trx, [...cells.values()]);
    },
    async reset(trx) {
      await trx.deleteFrom('usage_unique_values').execute();
      await trx.deleteFrom('usage_hourly').execute();
      await trx.deleteFrom('meters').execute();
    },
  };
}

/**
 * The running totals of `delta_by_type` meters in this batch, each starting from the partner's last stored value
 * (the cell with the highest last_seq), so a gauge carries over hours, batches and restarts.
 */
function runningTotals(trx: Transaction<BillingDB>) {
  const totals = new Map<string, number>();
  return {
    async add(r: MeterReading, delta: number): Promise<number> {
      const key = `${r.partnerId}\u0000${r.meter}\u0000${r.groupKey}`;
      let total = totals.get(key);
      if (total === undefined) {
        const last = await trx
          .selectFrom('usage_hourly')
          .select('value')
          .where('partner_id', '=', r.partnerId)
          .where('meter', '=', r.meter)
          .where('group_key', '=', r.groupKey)
          .orderBy('last_seq', 'desc')
          .limit(1)
          .executeTakeFirst();
        total = last ? Number(last.value) : 0;
      }
      total += delta;
      totals.set(key, total);
      return total;
    },
  };
}

const rowOf = (p: PendingCell) => ({
  partner_id: p.reading.partnerId,
  meter: p.reading.meter,
  hour: new Date(p.reading.hour),
  group_key: p.reading.groupKey,
  groups: p.reading.groups ? JSON.stringify(p.reading.groups) : null,
  value: String(p.cell.value),
  events: p.cell.events,
  last_seq: p.cell.lastSeq,
});

/** How each aggregation merges a batch's cell into the stored hour (count and sum add; unique counts its value set). */
const MERGE_VALUE = {
  count: sql<string>`usage_hourly.value + excluded.value`,
  sum: sql<string>`usage_hourly.value + excluded.value`,
  max: sql<string>`greatest(usage_hourly.value, excluded.value)`,
  latest: sql<string>`excluded.value`,
  unique_count: sql<string>`(select count(*) from usage_unique_values u where u.partner_id = excluded.partner_id and u.meter = excluded.meter
            and u.hour = excluded.hour and u.group_key = excluded.group_key)`,
} satisfies Record<Meter['aggregation'], unknown>;

async function upsertHours(trx: Transaction<BillingDB>, cells: PendingCell[], aggregation: Meter['aggregation']) {
  for (let i = 0; i < cells.length; i += CHUNK) {
    await trx
      .insertInto('usage_hourly')
      .values(cells.slice(i, i + CHUNK).map(rowOf))
      .onConflict((oc) =>
        oc.columns(['partner_id', 'meter', 'hour', 'group_key']).doUpdateSet({
          value: MERGE_VALUE[aggregation],
          events: sql`usage_hourly.events + excluded.events`,
          last_seq: sql`excluded.last_seq`,
        }),
      )
      .execute();
  }
}

async function writeCells(trx: Transaction<BillingDB>, cells: PendingCell[]) {
  const by = (agg: Meter['aggregation']) => cells.filter((c) => c.meter.aggregation === agg);
  for (const agg of ['count', 'sum', 'max', 'latest'] as const) await upsertHours(trx, by(agg), agg);
  // Distinct values first, so the unique_count upsert counts the batch's own values too.
  const unique = by('unique_count');
  const values = unique.flatMap((p) =>
    [...(p.cell.distinct ?? [])].map((value) => ({
      partner_id: p.reading.partnerId,
      meter: p.reading.meter,
      hour: new Date(p.reading.hour),
      group_key: p.reading.groupKey,
      value,
    })),
  );
  for (let i = 0; i < values.length; i += CHUNK) {
    await trx
      .insertInto('usage_unique_values')
      .values(values.slice(i, i + CHUNK))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  await upsertHours(trx, unique, 'unique_count');
}

// ---------------------------------------------------------------- queries

export type UsageWindow = 'hour' | 'day' | 'month';

export interface UsageBucket {
  window_start: string;
  window_end: string;
  value: number;
  groups?: Record<string, string>;
}

export function windowEnd(start: Date, window: UsageWindow): Date {
  const d = new Date(start);
  if (window === 'hour') d.setUTCHours(d.getUTCHours() + 1);
  else if (window === 'day') d.setUTCDate(d.getUTCDate() + 1);
  else d.setUTCMonth(d.getUTCMonth() + 1);
  return d;
}

/**
 * A partner's usage of one meter in [from, to), one bucket per window (UTC) and group that has usage. Hours
 * fold into days and months with the meter's own aggregation: count and sum add, max takes the largest,
 * latest the last in stream order, unique_count counts the distinct values over the whole window.
 */
export async function usageSeries(
  db: Kysely<BillingDB>,
  q: { partnerId: string; meter: Meter; from: Date; to: Date; window: UsageWindow; limit: number },
): Promise<UsageBucket[]> {
  const bucket = sql<Date>`date_trunc(${q.window}, hour, 'UTC')`;
  type Row = { bucket: Date; group_key: string; value: string };
  let rows: Row[];
  if (q.meter.aggregation === 'unique_count') {
    rows = (await db
      .selectFrom('usage_unique_values')
      .select([bucket.as('bucket'), 'group_key', sql<string>`count(distinct value)::text`.as('value')])
      .where('partner_id', '=', q.partnerId)
      .where('meter', '=', q.meter.code)
      .where('hour', '>=', q.from)
      .where('hour', '<', q.to)
      .groupBy([sql`1`, 'group_key'])
      .orderBy(sql`1`)
      .orderBy('group_key')
      .limit(q.limit)
      .execute()) as Row[];
  } else {
    const agg =
      q.meter.aggregation === 'max'
        ? sql<string>`max(value)::text`
        : q.meter.aggregation === 'latest'
          ? sql<string>`((array_agg(value order by last_seq desc))[1])::text`
          : sql<string>`sum(value)::text`;
    rows = (await db
      .selectFrom('usage_hourly')
      .select([bucket.as('bucket'), 'group_key', agg.as('value')])
      .where('partner_id', '=', q.partnerId)
      .where('meter', '=', q.meter.code)
      .where('hour', '>=', q.from)
      .where('hour', '<', q.to)
      .groupBy([sql`1`, 'group_key'])
      .orderBy(sql`1`)
      .orderBy('group_key')
      .limit(q.limit)
      .execute()) as Row[];
  }
  return rows.map((r) => ({
    window_start: r.bucket.toISOString(),
    window_end: windowEnd(r.bucket, q.window).toISOString(),
    value: Number(r.value),
    ...(r.group_key ? { groups: JSON.parse(r.group_key) as Record<string, string> } : {}),
  }));
}

export async function customMeters(db: Kysely<BillingDB>) {
  return db.selectFrom('meters').selectAll().orderBy('seq').execute();
}

export async function findMeter(
  db: Kysely<BillingDB>,
  code: string,
): Promise<{ meter: Meter; builtin: boolean; created_at: string | null } | undefined> {
  const builtin = BUILTIN_METERS.find((m) => m.code === code);
  if (builtin) return { meter: builtin, builtin: true, created_at: null };
  const row = await db.selectFrom('meters').selectAll().where('code', '=', code).executeTakeFirst();
  return row ? { meter: row.definition as Meter, builtin: false, created_at: row.created_at } : undefined;
}
