/**
 * What `npm start` prints about traces: where they go when an OTLP exporter is configured (the services read
 * the OpenTelemetry SDK's standard variables from the environment), and how to see them in Jaeger when not.
 * No trace viewer installs from npm or Debian as a well-kept package, so none is started here.
 */
export function tracingHint(env: NodeJS.ProcessEnv): string[] {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint && env.OTEL_SDK_DISABLED !== 'true' && env.OTEL_TRACES_EXPORTER !== 'none') {
    return [`traces         ${endpoint}  (OTLP, ${env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf'}; one trace per request and event)`];
  }
  return [
    'traces         off (no OTLP exporter). To see one trace per event in Jaeger:',
    '                 docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/jaeger:latest',
    '                 OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npm start   → http://127.0.0.1:16686',
  ];
}
