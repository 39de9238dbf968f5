import { DELIVERY_LATENCY_BUCKETS_MS, type PlatformEvent } from '@pep/contracts';
import { aggregateSubject, newEvent } from '@pep/events';
import type { OutboxEvent } from './event-outbox.ts';

/** The outcome classes of an attempt (`by_class` of `webhook.deliveries.rolled_up`). */
export const TRAFFIC_CLASSES = ['success', 'timeout', 'tls', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'mapping'] as const;
export type TrafficClass = (typeof TRAFFIC_CLASSES)[number];

/**
 * The class of an attempt from its recorded outcome: 2xx success; 429 rate_limited; other 1xx/3xx/4xx http_4xx;
 * 5xx http_5xx; the attempt's error class otherwise (`timeout`, `tls_error`, `mapping_error`; connection,
 * SSRF-refused, payload and other transport failures are `network`).
 */
export function trafficClass(r: { outcome: 'succeeded' | 'failed'; status_code: number | null; error_class: string | null }): TrafficClass {
  if (r.outcome === 'succeeded') return 'success';
  if (r.status_code !== null) {
    if (r.status_code === 429) return 'rate_limited';
    return r.status_code >= 500 ? 'http_5xx' : 'http_4xx';
  }
  switch (r.error_class) {
    case 'timeout':
      return 'timeout';
    case 'tls_error':
      return 'tls';
    case 'mapping_error':
      return 'mapping';
    default:
      return 'network';
  }
}

/** What the writer knows of an attempt besides its result. */
export interface TrafficMeta {
  partnerId: string;
  integrationId: string | null;
  eventType: string;
}

interface Counts {
  attempts: number;
  succeeded: number;
  exhausted: number;
}

interface Bucket extends Counts {
  endpointId: string;
  partnerId: string;
  integrationId: string | null;
  minute: number;
  byClass: Map<TrafficClass, number>;
  byType: Map<string, Counts>;
  latency: number[];
  latencySum: number;
}

const MINUTE_MS = 60_000;
const MAX_EVENT_TYPES = 200;
const OTHER_TYPES = 'other';
export const SOURCE = 'webhook-dispatcher';

export const minuteOf = (ms: number) => ms - (ms % MINUTE_MS);

/** `yyyymmddhhmm` (UTC) of a minute. */
const minuteKey = (minute: number) => new Date(minute).toISOString().slice(0, 16).replace(/[-T:]/g, '');

export function rollupId(endpointId: string, minute: number, reporter: string): string {
  return `whru_${endpointId}_${minuteKey(minute)}_${reporter}`;
}

function latencyBucket(ms: number): number {
  for (let i = 0; i < DELIVERY_LATENCY_BUCKETS_MS.length; i++) if (ms <= (DELIVERY_LATENCY_BUCKETS_MS[i] ?? 0)) return i;
  return DELIVERY_LATENCY_BUCKETS_MS.length;
}

/**
 * The dispatcher's traffic counts: every recorded attempt is counted in memory under its endpoint and the minute it
 * was recorded in (a few map updates, off the delivery path: the writer calls it after its batch committed). A
 * minute that is over becomes one `webhook.deliveries.rolled_up` event per endpoint (`drainBefore`); at shutdown
 * the running minute too (`drainAll`), marked to wait for the minute's end.
 */
export class TrafficRollups {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly reporter: string,
    private readonly prefix: string,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  private bucket(endpointId: string, minute: number, meta: { partnerId: string; integrationId: string | null }): Bucket {
    const key = `${endpointId}|${minute}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = {
        endpointId,
        partnerId: meta.partnerId,
        integrationId: meta.integrationId,
        minute,
        attempts: 0,
        succeeded: 0,
        exhausted: 0,
        byClass: new Map(),
        byType: new Map(),
        latency: new Array<number>(DELIVERY_LATENCY_BUCKETS_MS.length + 1).fill(0),
        latencySum: 0,
      };
      this.buckets.set(key, b);
    }
    return b;
  }

  /** Counts one recorded attempt (`exhausted`: its delivery failed for good with it). */
  count(
    at: number,
    endpointId: string,
    meta: TrafficMeta,
    r: { cls: TrafficClass; latencyMs: number; succeeded: boolean; exhausted: boolean },
  ): void {
    const b = this.bucket(endpointId, minuteOf(at), meta);
    b.attempts++;
    if (r.succeeded) b.succeeded++;
    if (r.exhausted) b.exhausted++;
    b.byClass.set(r.cls, (b.byClass.get(r.cls) ?? 0) + 1);
    let type = meta.eventType;
    if (!b.byType.has(type) && b.byType.size >= MAX_EVENT_TYPES - 1) type = OTHER_TYPES;
    let t = b.byType.get(type);
    if (!t) {
      t = { attempts: 0, succeeded: 0, exhausted: 0 };
      b.byType.set(type, t);
    }
    t.attempts++;
    if (r.succeeded) t.succeeded++;
    if (r.exhausted) t.exhausted++;
    // A mapping failure sent nothing: it has no latency.
    if (r.cls !== 'mapping') {
      const ms = Math.max(0, Math.round(r.latencyMs));
      const i = latencyBucket(ms);
      b.latency[i] = (b.latency[i] ?? 0) + 1;
      b.latencySum += ms;
    }
  }

  /** Adds a rollup this reporter emitted before (taken back from the outbox at start). */
  merge(ev: PlatformEvent): void {
    const d = ev.data as RollupData;
    const b = this.bucket(d.endpoint_id, Date.parse(d.minute), { partnerId: d.partner_id, integrationId: d.integration_id ?? null });
    b.attempts += d.attempts;
    b.succeeded += d.succeeded;
    b.exhausted += d.exhausted;
    for (const c of TRAFFIC_CLASSES) if (d.by_class[c]) b.byClass.set(c, (b.byClass.get(c) ?? 0) + d.by_class[c]);
    for (const [k, c] of Object.entries(d.by_event_type)) {
      const t = b.byType.get(k) ?? { attempts: 0, succeeded: 0, exhausted: 0 };
      t.attempts += c.attempts;
      t.succeeded += c.succeeded;
      t.exhausted += c.exhausted;
      b.byType.set(k, t);
    }
    d.latency_ms_buckets.forEach((n, i) => {
      b.latency[i] = (b.latency[i] ?? 0) + n;
    });
    b.latencySum += d.latency_ms_sum;
  }

  /** The rollups of the minutes before `minute` (they are removed from memory). */
  drainBefore(minute: number): OutboxEvent[] {
    const out: OutboxEvent[] = [];
    for (const [key, b] of this.buckets) {
      if (b.minute >= minute) continue;
      this.buckets.delete(key);
      out.push(this.toOutbox(b));
    }
    return out;
  }

  /** Every rollup (shutdown): a minute not over yet waits for its end and names this reporter. */
  drainAll(now: number): OutboxEvent[] {
    const running = minuteOf(now);
    const out: OutboxEvent[] = [];
    for (const b of this.buckets.values()) {
      const row = this.toOutbox(b);
      out.push(b.minute >= running ? { ...row, notBefore: new Date(b.minute + MINUTE_MS), reporter: this.reporter } : row);
    }
    this.buckets.clear();
    return out;
  }

  private toOutbox(b: Bucket): OutboxEvent {
    const id = rollupId(b.endpointId, b.minute, this.reporter);
    const minute = new Date(b.minute).toISOString();
    const data: RollupData = {
      endpoint_id: b.endpointId,
      partner_id: b.partnerId,
      ...(b.integrationId ? { integration_id: b.integrationId } : {}),
      minute,
      reporter: this.reporter,
      attempts: b.attempts,
      succeeded: b.succeeded,
      exhausted: b.exhausted,
      by_class: Object.fromEntries(TRAFFIC_CLASSES.map((c) => [c, b.byClass.get(c) ?? 0])) as Record<TrafficClass, number>,
      by_event_type: Object.fromEntries(b.byType),
      latency_ms_buckets: [...b.latency],
      latency_ms_sum: b.latencySum,
    };
    const event = newEvent({
      id,
      source: SOURCE,
      type: 'webhook.deliveries.rolled_up',
      time: new Date(b.minute + MINUTE_MS).toISOString(),
      subject: b.endpointId,
      partnerid: b.partnerId,
      data,
    });
    return { id, subject: aggregateSubject(this.prefix, 'webhook_traffic', b.endpointId), event };
  }
}

export interface RollupData extends Counts {
  endpoint_id: string;
  partner_id: string;
  integration_id?: string;
  minute: string;
  reporter: string;
  /** Every class, 0 when none. */
  by_class: Record<TrafficClass, number>;
  by_event_type: Record<string, Counts>;
  latency_ms_buckets: number[];
  latency_ms_sum: number;
}
