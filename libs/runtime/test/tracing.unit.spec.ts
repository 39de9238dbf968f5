import { describe, expect, it } from 'vitest';
import { startBoundarySpan, startTelemetry, tracingConfigured, tracingEnabled, withBoundarySpan } from '../src/index.ts';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing while no exporter is configured', () => {
  it('is configured only by the SDK variables that name an exporter', () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' })).toBe(false);
  });

  it('does not start the SDK, makes no span and passes the trace context through unchanged', async () => {
    const t = await startTelemetry('test', {});
    expect(t.tracing).toBe(false);
    expect(tracingEnabled()).toBe(false);
    expect(startBoundarySpan('x', 'server', PARENT)).toBeUndefined();
    expect(await withBoundarySpan('x', 'client', PARENT, {}, async (tp) => tp)).toBe(PARENT);
    await expect(
      withBoundarySpan('x', 'client', PARENT, {}, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await t.shutdown();
  });
});
