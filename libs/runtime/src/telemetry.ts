/**
 * Starts the OpenTelemetry Node SDK when an exporter is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_TRACES_EXPORTER, read by the SDK itself). Without one, nothing is exported; the W3C trace context
 * still flows (HTTP → envelope `traceparent` and NATS headers → consumers → outbound HTTP), so traces join
 * up as soon as an exporter is configured.
 *
 * The SDK is imported only when it is switched on: `@opentelemetry/sdk-node` brings every exporter with it
 * (gRPC, protobuf, the YAML configuration validator), ~2 MB of code and 10+ MiB of resident memory in each
 * service that exports nothing (see `pnpm bench:footprint`).
 */
export function startTelemetry(service: string, env: NodeJS.ProcessEnv = process.env): { shutdown: () => Promise<void> } {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_TRACES_EXPORTER) return { shutdown: async () => undefined };
  const started = import('@opentelemetry/sdk-node').then(({ NodeSDK }) => {
    const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? service });
    sdk.start();
    return sdk;
  });
  return { shutdown: () => started.then((sdk) => sdk.shutdown()) };
}
