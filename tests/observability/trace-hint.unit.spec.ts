import { describe, expect, it } from 'vitest';
import { tracingHint } from '../../scripts/trace-hint.ts';

describe('what npm start says about traces', () => {
  it('says how to send them to Jaeger when no exporter is set, and where they go when one is', () => {
    expect(tracingHint({}).join('\n')).toMatch(/off.*\n.*jaeger.*\n.*OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:4318 npm start/s);
    expect(tracingHint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual([
      expect.stringContaining('http://collector:4318  (OTLP, http/protobuf'),
    ]);
    expect(tracingHint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' })[0]).toMatch(/off/);
  });
});
