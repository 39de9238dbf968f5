import type { RpcReply, RpcRequest } from '@pep/contracts';
import { type Metrics, withBoundarySpan } from '@pep/runtime';

/**
 * RED metrics and a SERVER span for every NATS request a service answers: `rpc_server_requests_total`
 * (by pattern and outcome: ok, rejected (4xx), error (5xx or thrown)) and `rpc_server_request_duration_seconds`.
 * The handler sees the request with the span as its `traceparent`, so the command's events join the trace.
 */
export function rpcObserver(service: string, metrics: Metrics | undefined) {
  const requests = metrics?.counter('rpc_server_requests_total', 'NATS requests answered, by pattern and outcome', ['pattern', 'outcome']);
  const duration = metrics?.histogram(
    'rpc_server_request_duration_seconds',
    'Time to answer a NATS request, by pattern',
    ['pattern'],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  return (pattern: string, fn: (req: RpcRequest) => Promise<RpcReply>) =>
    async (req: RpcRequest): Promise<RpcReply> => {
      const started = process.hrtime.bigint();
      let outcome = 'error';
      try {
        const reply = await withBoundarySpan(
          `rpc ${service}.${pattern}`,
          'server',
          req?.traceparent,
          { 'rpc.system': 'nats', 'rpc.service': service, 'rpc.method': pattern },
          (traceparent) => fn(traceparent && req ? { ...req, traceparent } : req),
        );
        outcome = reply.ok ? 'ok' : reply.problem.status >= 500 ? 'error' : 'rejected';
        return reply;
      } finally {
        requests?.inc({ pattern, outcome });
        duration?.observe({ pattern }, Number(process.hrtime.bigint() - started) / 1e9);
      }
    };
}
