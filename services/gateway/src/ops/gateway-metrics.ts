import { createMetrics } from '@pep/runtime';

/** The gateway's Prometheus metrics: requests and latency by route and status, events published. */
export function createGatewayMetrics() {
  const m = createMetrics('gateway');
  return {
    registry: m.registry,
    /** For metrics registered from shared code (stream and projection lag, dead letters). */
    base: m,
    requests: m.counter('gateway_http_requests_total', 'HTTP requests by method, route and status', ['method', 'route', 'status']),
    latency: m.histogram(
      'gateway_http_request_duration_seconds',
      'HTTP request latency by method, route and status',
      ['method', 'route', 'status'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
    eventsPublished: m.counter('gateway_events_published_total', 'Events published to the stream (duplicates counted apart)', [
      'duplicate',
    ]),
    eventsRejected: m.counter('gateway_events_rejected_total', 'Events refused by validation'),
    rpcRequests: m.counter('gateway_rpc_requests_total', 'Requests forwarded to services, by service and outcome', ['service', 'outcome']),
    consumerRecreated: m.counter(
      'projection_consumer_recreated_total',
      'Times a projection consumer was recreated from its checkpoint (stalled, reconnect, consumer gone)',
      ['projection', 'reason'],
    ),
    dbPoolErrors: m.counter('db_pool_errors_total', 'Postgres connections lost by the pool (the pool reconnects)'),
    backgroundFailures: m.counter('gateway_background_failures_total', 'Background work that failed and was survived, by what', ['what']),
  };
}
export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;
