import type { PlatformEvent } from '@pep/contracts';
import { deciderSpec } from '@pep/testing';
import { describe, expect, it } from 'vitest';
import { decideIntegration, type IntegrationCommand } from '../src/domain/integration/decide.ts';
import { combineHealth, type ProbeResult, type RecentTraffic } from '../src/domain/integration/health.ts';
import { evolveIntegration, type IntegrationEvent, type IntegrationState } from '../src/domain/integration/integration.ts';

let seq = 0;
const now = new Date('2026-03-01T10:00:00Z');
const integrations = deciderSpec<IntegrationState | undefined, IntegrationCommand, IntegrationEvent>({
  decide: decideIntegration,
  evolve: (acc, e) =>
    evolveIntegration(acc, {
      specversion: '1.0',
      id: `e${++seq}`,
      source: 't',
      type: e.type,
      time: now.toISOString(),
      datacontenttype: 'application/json',
      schemaversion: 1,
      partnerid: 'prt_1',
      data: e.data,
      seq,
    } as PlatformEvent & { seq: number }),
  initialState: () => undefined,
});
const connected: IntegrationEvent = {
  type: 'integration.connected',
  data: {
    integration_id: 'int_1',
    application_id: 'app_1',
    customer_id: 'cus_1',
    scopes: [],
    connected_by: 'key_1',
    connected_at: now.toISOString(),
  },
};
const checked = (status: 'up' | 'down', previous: 'unknown' | 'up' | 'down', error: string | null = null): IntegrationEvent => ({
  type: 'integration.health_checked',
  data: {
    integration_id: 'int_1',
    application_id: 'app_1',
    status,
    previous_status: previous,
    latency_ms: 10,
    http_status: 200,
    error,
    checked_at: now.toISOString(),
  },
});
const WINDOW = 900_000;
const check = (probe: ProbeResult | null, traffic: Omit<RecentTraffic, 'window_ms'> | null): IntegrationCommand => ({
  type: 'RecordHealthCheck',
  data: { integration_id: 'int_1', probe, traffic: traffic ? { ...traffic, window_ms: WINDOW } : null, checked_at: now },
  thresholds: { degradedLatencyMs: 1000, minAttempts: 5 },
});
const answers: ProbeResult = { latency_ms: 10, http_status: 200 };
const types = (events: IntegrationEvent[]) => events.map((e) => e.type);

describe('integration health from checks and traffic', () => {
  it('combines: failing traffic wins over a healthy URL; too few attempts say nothing; no URL means traffic alone', () => {
    const t = { degradedLatencyMs: 1000, minAttempts: 5 };
    expect(combineHealth(answers, { attempts: 6, succeeded: 0, window_ms: WINDOW }, t)).toMatchObject({
      status: 'down',
      source: 'traffic',
    });
    expect(combineHealth(answers, { attempts: 4, succeeded: 0, window_ms: WINDOW }, t)).toMatchObject({ status: 'up', source: 'check' });
    expect(combineHealth(answers, { attempts: 60, succeeded: 1, window_ms: WINDOW }, t)).toMatchObject({ status: 'up' });
    expect(combineHealth(null, { attempts: 5, succeeded: 2, window_ms: WINDOW }, t)).toMatchObject({ status: 'up', source: 'traffic' });
    expect(combineHealth(null, { attempts: 2, succeeded: 0, window_ms: WINDOW }, t)).toBeNull();
    expect(combineHealth(null, null, t)).toBeNull();
  });

  it('given an up integration, when every delivery failed although the URL answers, then down and integration.failed (deliveries_failing)', () => {
    const events = integrations
      .given([connected, checked('up', 'unknown')])
      .when(check(answers, { attempts: 7, succeeded: 0 }))
      .events();
    expect(types(events)).toEqual(['integration.health_checked', 'integration.failed']);
    expect(events[0]?.data).toMatchObject({
      status: 'down',
      previous_status: 'up',
      error: 'every webhook delivery failed in the last 15 min (7 attempts)',
    });
    expect(events[1]?.data).toMatchObject({ integration_id: 'int_1', error_code: 'deliveries_failing', retryable: true });
  });

  it('given a down integration, when it is still failing, then no second integration.failed', () => {
    const g = integrations.given([connected, checked('up', 'unknown'), checked('down', 'up', 'every webhook delivery failed')]);
    expect(types(g.when(check(answers, { attempts: 9, succeeded: 0 })).events())).toEqual(['integration.health_checked']);
  });

  it('given a down integration, when a delivery succeeds again, then up and integration.connected, once', () => {
    const g = integrations.given([connected, checked('down', 'unknown', 'every webhook delivery failed')]);
    const events = g.when(check(answers, { attempts: 9, succeeded: 1 })).events();
    expect(types(events)).toEqual(['integration.health_checked', 'integration.connected']);
    expect(events[1]?.data).toEqual({
      integration_id: 'int_1',
      application_id: 'app_1',
      customer_id: 'cus_1',
      connected_at: now.toISOString(),
    });
    const after = integrations.given([connected, checked('down', 'unknown'), ...events]);
    expect(types(after.when(check(answers, { attempts: 9, succeeded: 1 })).events())).toEqual(['integration.health_checked']);
  });

  it('given no health URL and too little traffic, when checked, then nothing is recorded', () => {
    integrations
      .given([connected])
      .when(check(null, { attempts: 1, succeeded: 0 }))
      .thenEvents([]);
  });
});
