import type { RpcReply, RpcRequest } from '@pep/contracts';
import { withBoundarySpan } from '@pep/runtime';

/** A CLIENT span around one request to a service; the service gets the span as its `traceparent`. */
export function tracedRequest(
  subject: string,
  service: string,
  request: RpcRequest,
  send: (request: RpcRequest) => Promise<RpcReply>,
): Promise<RpcReply> {
  return withBoundarySpan(
    `rpc ${subject.split('.').slice(1).join('.')}`,
    'client',
    request.traceparent,
    { 'rpc.system': 'nats', 'rpc.service': service },
    (tp) => send(tp ? { ...request, traceparent: tp } : request),
  );
}
