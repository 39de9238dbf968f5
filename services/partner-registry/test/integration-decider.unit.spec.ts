import type { PlatformEvent } from '@pep/contracts';
import { describe, expect, it } from 'vitest';
import { decideIntegration, type IntegrationCommand } from '../src/domain/integration/decide.ts';
import { classifyHealth, type ProbeResult } from '../src/domain/integration/health.ts';
import { evolveIntegration, type IntegrationEvent, type IntegrationState } from '../src/domain/integration/integration.ts';

const t = { degradedLatencyMs: 1000 };
let seq = 0;
const fold = (s: IntegrationState | undefined, events: IntegrationEvent[]) =>
  events.reduce<IntegrationState | undefined>(
    (acc, e) =>
      evolveIntegration(acc, {
        specversion: '1.0',
        id: `e${++seq}`,
        source: 't',
        type: e.type,
        time: '2026-01-01T00:00:00.000Z',
        datacontenttype: 'application/json',
        schemaversion: 1,
        partnerid: 'prt_1',
        data: e.data,
        seq,
      } as PlatformEvent & { seq: number }),
    s,
  );
const run = (s: IntegrationState | undefined, cmd: IntegrationCommand) => {
  const events = decideIntegration(cmd, s);
  return { events, state: fold(s, events) };
};
const check = (probe: ProbeResult): IntegrationCommand => ({
  type: 'RecordHealthCheck',
  data: { integration_id: 'int_1', probe, checked_at: new Date('2026-01-01T00:00:00Z') },
  thresholds: t,
});

describe('integration health', () => {
  it('classifies up / degraded / down', () => {
    expect(classifyHealth({ latency_ms: 20, http_status: 204 }, t).status).toBe('up');
    expect(classifyHealth({ latency_ms: 1500, http_status: 200 }, t).status).toBe('degraded');
    expect(classifyHealth({ latency_ms: 5, http_status: 429 }, t).status).toBe('degraded');
    expect(classifyHealth({ latency_ms: 5, http_status: 503 }, t)).toEqual({ status: 'down', error: 'HTTP 503' });
    expect(classifyHealth({ latency_ms: 5000, error: 'timeout after 5000 ms' }, t).status).toBe('down');
  });

  it('emits integration.failed once per outage and counts repeated errors', () => {
    let s = run(undefined, {
      type: 'InstallIntegration',
      data: { integration_id: 'int_1', application_id: 'app_1', customer_id: 'cus_1', installed_by: 'key_1', scopes: [] },
      application_status: 'published',
      now: new Date('2026-01-01T00:00:00Z'),
    }).state;
    const failures: string[] = [];
    for (const probe of [
      { latency_ms: 10, http_status: 200 },
      { latency_ms: 10, http_status: 500 },
      { latency_ms: 10, http_status: 500 },
      { latency_ms: 10, error: 'connect ECONNREFUSED' },
      { latency_ms: 10, http_status: 200 },
      { latency_ms: 10, http_status: 500 },
    ] satisfies ProbeResult[]) {
      const r = run(s, check(probe));
      failures.push(...r.events.filter((e) => e.type === 'integration.failed').map((e) => e.type));
      s = r.state;
    }
    expect(failures).toHaveLength(2);
    expect(s?.metrics).toMatchObject({ calls: 6, errors: 4, error_rate: 4 / 6, avg_latency_ms: 10 });
    expect(s?.recent_errors.map((e) => [e.message, e.count])).toEqual([
      ['HTTP 500', 3],
      ['connect ECONNREFUSED', 1],
    ]);
    expect(s?.health).toMatchObject({ status: 'down', consecutive_failures: 1 });
  });
});
