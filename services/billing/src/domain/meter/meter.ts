import { BUILTIN_METERS, eventTypeMatches, type Meter, type StoredEvent } from '@pep/contracts';

/** What one event contributes to one meter: the partner, the hour, the group and the value. */
export interface MeterReading {
  partnerId: string;
  meter: string;
  /** Start of the event's hour, UTC, as an ISO string. */
  hour: string;
  groupKey: string;
  groups: Record<string, string> | undefined;
  /** The number folded by count/sum/max/latest, or the distinct value of unique_count. */
  value: number | string;
}

const HOUR_MS = 3_600_000;

export const isBuiltinMeter = (code: string) => BUILTIN_METERS.some((m) => m.code === code);

/** Reads `$.a.b` from an event's data. */
export function readPath(data: unknown, path: string): unknown {
  let cur: unknown = data;
  for (const key of path.slice(2).split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Whether a meter counts an event: its type matches a filter and it comes from the meter's origin. */
export function meterMatches(meter: Meter, event: Pick<StoredEvent, 'type' | 'subject_name'>, prefix: string): boolean {
  const filters = typeof meter.event_type === 'string' ? [meter.event_type] : meter.event_type;
  if (!filters.some((f) => eventTypeMatches(f, event.type))) return false;
  if (meter.origin === 'external') return event.subject_name.startsWith(`${prefix}.ext.`);
  if (meter.origin === 'domain') return event.subject_name.startsWith(`${prefix}.agg.`);
  return true;
}

/** The hour an event's usage belongs to: its `time`, truncated to the hour (UTC). */
export function hourOf(time: string): string | undefined {
  const ms = Date.parse(time);
  if (!Number.isFinite(ms)) return undefined;
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString();
}

const scalar = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/**
 * The reading of one event for one meter, or undefined when the event does not count: no tenant, no usable
 * time, or a value that is missing or not a finite number (count counts every event; unique_count takes any
 * scalar). Pure: the same event always reads the same, which is what makes usage a fold of the stream.
 */
export function readEvent(meter: Meter, event: StoredEvent): MeterReading | undefined {
  const partnerId = event.partnerid;
  if (!partnerId) return undefined;
  const hour = hourOf(event.time);
  if (!hour) return undefined;
  let value: number | string = 1;
  if (meter.delta_by_type) {
    const delta = meter.delta_by_type[event.type];
    if (delta === undefined) return undefined;
    value = delta;
  } else if (meter.aggregation !== 'count') {
    const raw = readPath(event.data, meter.value_path as string);
    if (meter.aggregation === 'unique_count') {
      const s = scalar(raw);
      if (s === undefined) return undefined;
      value = s;
    } else {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) return undefined;
      value = raw;
    }
  }
  let groups: Record<string, string> | undefined;
  let groupKey = '';
  if (meter.group_by && Object.keys(meter.group_by).length > 0) {
    groups = {};
    for (const name of Object.keys(meter.group_by).sort()) {
      groups[name] = scalar(readPath(event.data, meter.group_by[name] as string)) ?? '';
    }
    groupKey = JSON.stringify(groups);
  }
  return { partnerId, meter: meter.code, hour, groupKey, groups, value };
}

/**
 * A running-total meter (`delta_by_type`): each event adds its type's constant to the partner's total and the
 * reading is the total after it (folded with the meter's aggregation: latest makes it a gauge).
 */
export const isRunningTotal = (meter: Meter) => meter.delta_by_type !== undefined;

/** Running fold of one (partner, meter, hour, group) cell. */
export interface UsageCell {
  value: number;
  events: number;
  lastSeq: number;
  distinct?: Set<string>;
}

/** Folds one reading into a cell with the meter's aggregation. */
export function foldReading(meter: Meter, cell: UsageCell | undefined, reading: MeterReading, seq: number): UsageCell {
  const c: UsageCell = cell ?? { value: 0, events: 0, lastSeq: 0 };
  c.events += 1;
  c.lastSeq = seq;
  switch (meter.aggregation) {
    case 'count':
      c.value += 1;
      break;
    case 'sum':
      c.value += reading.value as number;
      break;
    case 'max':
      c.value = c.events === 1 ? (reading.value as number) : Math.max(c.value, reading.value as number);
      break;
    case 'latest':
      c.value = reading.value as number;
      break;
    case 'unique_count':
      c.distinct ??= new Set();
      c.distinct.add(reading.value as string);
      c.value = c.distinct.size;
      break;
    default: {
      const never: never = meter.aggregation;
      throw new Error(`unknown aggregation ${String(never)}`);
    }
  }
  return c;
}
