import { WebhookDeliveriesRolledUp } from '@pep/contracts';
import { describe, expect, it } from 'vitest';
import { storableExcerpt } from '../src/dispatch/delivery-events.ts';
import { rollupId, TrafficRollups, trafficClass } from '../src/dispatch/traffic.ts';

const T0 = Date.parse('2026-12-01T10:15:00.000Z');
const meta = { partnerId: 'prt_1', integrationId: 'int_1', eventType: 'lead.created' };

describe('traffic rollups', () => {
  it('classifies attempts: success, 429, 4xx, 5xx, timeout, tls, mapping, other transport failures', () => {
    const f = (status_code: number | null, error_class: string | null) => trafficClass({ outcome: 'failed', status_code, error_class });
    expect(trafficClass({ outcome: 'succeeded', status_code: 204, error_class: null })).toBe('success');
    expect(f(429, 'http_error')).toBe('rate_limited');
    expect(f(404, 'http_error')).toBe('http_4xx');
    expect(f(302, 'http_error')).toBe('http_4xx');
    expect(f(503, 'http_error')).toBe('http_5xx');
    expect(f(null, 'timeout')).toBe('timeout');
    expect(f(null, 'tls_error')).toBe('tls');
    expect(f(null, 'mapping_error')).toBe('mapping');
    expect(f(null, 'connect_error')).toBe('network');
    expect(f(null, 'ssrf_refused')).toBe('network');
  });

  it('counts per endpoint and minute, drains ended minutes as valid events with deterministic ids', () => {
    const t = new TrafficRollups('replica-a', 'pep');
    t.count(T0 + 1000, 'ep_1', meta, { cls: 'success', latencyMs: 12, succeeded: true, exhausted: false });
    t.count(T0 + 2000, 'ep_1', meta, { cls: 'http_5xx', latencyMs: 300, succeeded: false, exhausted: true });
    t.count(T0 + 3000, 'ep_1', { ...meta, eventType: 'lead.updated' }, { cls: 'mapping', latencyMs: 0, succeeded: false, exhausted: true });
    t.count(T0 + 61_000, 'ep_1', meta, { cls: 'success', latencyMs: 20_000, succeeded: true, exhausted: false });
    expect(t.drainBefore(T0)).toEqual([]);
    const rows = t.drainBefore(T0 + 60_000);
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row?.id).toBe('whru_ep_1_202612011015_replica-a');
    expect(row?.id).toBe(rollupId('ep_1', T0, 'replica-a'));
    expect(row?.subject).toBe('pep.agg.webhook_traffic.ep_1');
    const data = WebhookDeliveriesRolledUp.data.parse(row?.event.data);
    expect(data).toMatchObject({
      attempts: 3,
      succeeded: 1,
      exhausted: 2,
      integration_id: 'int_1',
      minute: '2026-12-01T10:15:00.000Z',
      by_class: { success: 1, http_5xx: 1, mapping: 1, timeout: 0, tls: 0, network: 0, http_4xx: 0, rate_limited: 0 },
      by_event_type: {
        'lead.created': { attempts: 2, succeeded: 1, exhausted: 1 },
        'lead.updated': { attempts: 1, succeeded: 0, exhausted: 1 },
      },
      latency_ms_sum: 312,
    });
    // 12 ms in the first bucket (<=25), 300 ms in <=500; the mapping failure sent nothing and has no latency.
    expect(data.latency_ms_buckets).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
    expect(t.size).toBe(1);
  });

  it('at shutdown the running minute waits for its end under this reporter; taken back, it merges into one count', () => {
    const a = new TrafficRollups('replica-a', 'pep');
    a.count(T0 + 1000, 'ep_1', meta, { cls: 'success', latencyMs: 30, succeeded: true, exhausted: false });
    a.count(T0 - 1000, 'ep_2', meta, { cls: 'timeout', latencyMs: 2000, succeeded: false, exhausted: false });
    const rows = a.drainAll(T0 + 5000);
    const running = rows.find((r) => r.event.data && (r.event.data as { endpoint_id: string }).endpoint_id === 'ep_1');
    const ended = rows.find((r) => r !== running);
    expect(running?.notBefore?.toISOString()).toBe('2026-12-01T10:16:00.000Z');
    expect(running?.reporter).toBe('replica-a');
    expect(ended?.notBefore).toBeUndefined();
    expect(a.size).toBe(0);

    const b = new TrafficRollups('replica-a', 'pep');
    if (running) b.merge(running.event);
    b.count(T0 + 9000, 'ep_1', meta, { cls: 'http_4xx', latencyMs: 40, succeeded: false, exhausted: false });
    const [merged] = b.drainBefore(T0 + 60_000);
    expect(merged?.id).toBe(running?.id);
    expect(WebhookDeliveriesRolledUp.data.parse(merged?.event.data)).toMatchObject({
      attempts: 2,
      succeeded: 1,
      by_class: { success: 1, http_4xx: 1, http_5xx: 0 },
      latency_ms_buckets: [0, 2, 0, 0, 0, 0, 0, 0, 0, 0],
      latency_ms_sum: 70,
    });
  });

  it('keeps at most 200 event types per rollup (the rest as "other")', () => {
    const t = new TrafficRollups('r', 'pep');
    for (let i = 0; i < 250; i++)
      t.count(T0, 'ep', { ...meta, eventType: `t.e${i}` }, { cls: 'success', latencyMs: 1, succeeded: true, exhausted: false });
    const [row] = t.drainBefore(T0 + 60_000);
    const data = WebhookDeliveriesRolledUp.data.parse(row?.event.data);
    expect(Object.keys(data.by_event_type)).toHaveLength(200);
    expect(data.by_event_type.other?.attempts).toBe(51);
  });

  it('excerpts are at most 500 storable characters', () => {
    expect(storableExcerpt(`a\u0000b${'x'.repeat(600)}`)?.length).toBe(499);
    expect(storableExcerpt('\ud800z')).toBe('\ufffdz');
    expect(storableExcerpt(null)).toBeNull();
  });
});
