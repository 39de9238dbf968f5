import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * Starts the OpenTelemetry Node SDK when an exporter is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_TRACES_EXPORTER, read by the SDK itself). Without one, nothing is exported; the W3C trace context
 * still flows (HTTP → envelope `traceparent` and NATS headers → consumers → outbound HTTP), so traces join
 * up as soon as an exporter is configured.
 */
export function startTelemetry(service: string, env: NodeJS.ProcessEnv = process.env): { shutdown: () => Promise<void> } {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_TRACES_EXPORTER) return { shutdown: async () => undefined };
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? service });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
