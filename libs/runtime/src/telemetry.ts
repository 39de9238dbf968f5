import { setTracingEnabled } from './tracing.ts';

export interface Telemetry {
  /** True when spans are recorded and exported. */
  tracing: boolean;
  /** Flushes the spans still buffered and stops the SDK. */
  shutdown: () => Promise<void>;
}

/** Tracing is configured by the OpenTelemetry SDK's standard variables; without an exporter it stays off. */
export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || exporter);
}

/**
 * Starts the OpenTelemetry Node SDK for traces only, when an exporter is configured
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` (default http/protobuf), `OTEL_TRACES_EXPORTER`,
 * `OTEL_BSP_*`, `OTEL_TRACES_SAMPLER`, all read by the SDK itself). No instrumentation is registered: the spans
 * are made by hand at the platform's boundaries (@pep/runtime tracing.ts), and no metric or log exporter runs
 * (metrics are Prometheus, logs are JSON lines). Without an exporter the SDK is not even loaded (it costs
 * memory), and the W3C trace context still flows from hop to hop unchanged.
 */
export async function startTelemetry(service: string, env: NodeJS.ProcessEnv = process.env): Promise<Telemetry> {
  if (!tracingConfigured(env)) return { tracing: false, shutdown: async () => undefined };
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? service,
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  setTracingEnabled(true);
  return {
    tracing: true,
    shutdown: async () => {
      setTracingEnabled(false);
      await sdk.shutdown();
    },
  };
}
