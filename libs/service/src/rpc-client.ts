import { randomUUID } from 'node:crypto';
import type { Principal, RpcReply, RpcRequest } from '@pep/contracts';
import type { NatsConnection } from '@nats-io/transport-node';

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Calls a service's RPC pattern (service-to-service requests and tests) over NATS request-reply, in the packet format of
 * @nestjs/microservices' ServerNats (`{pattern, data, id}` in, `{id, response | err}` out).
 */
export async function rpcCall(
  nc: NatsConnection,
  subject: string,
  req: {
    principal: Principal;
    body?: unknown;
    params?: Record<string, string>;
    query?: Record<string, unknown>;
    headers?: Record<string, string>;
    traceparent?: string;
  },
  timeoutMs: number,
): Promise<RpcReply> {
  const data: RpcRequest = {
    principal: req.principal,
    params: req.params ?? {},
    query: req.query ?? {},
    body: req.body,
    request_id: `req_${randomUUID()}`,
    ...(req.traceparent ? { traceparent: req.traceparent } : {}),
    ...(req.headers ? { headers: req.headers } : {}),
  };
  const msg = await nc.request(subject, enc.encode(JSON.stringify({ pattern: subject, data, id: randomUUID() })), { timeout: timeoutMs });
  const packet = JSON.parse(dec.decode(msg.data)) as { response?: RpcReply; err?: unknown };
  if (packet.err !== undefined || !packet.response)
    throw new Error(`rpc ${subject} failed: ${JSON.stringify(packet.err ?? 'empty reply')}`);
  return packet.response;
}
