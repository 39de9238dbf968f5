import { randomUUID } from 'node:crypto';
import type { Principal, RpcReply, RpcRequest } from '@pep/contracts';
import type { NatsConnection } from '@nats-io/transport-node';

const enc = new TextEncoder();
/** The NATS request failed: nobody answers the subject, or no answer came in time (`cause` is nats.js' error). */
export class RpcRequestError extends Error {
  constructor(
    readonly subject: string,
    options: { cause: unknown },
  ) {
    super(`rpc ${subject}: no answer (${options.cause instanceof Error ? options.cause.message : String(options.cause)})`, options);
    this.name = 'RpcRequestError';
  }
}

/** The service answered, but not with a reply: a transport-level error packet, an empty or unreadable packet. */
export class RpcReplyError extends Error {
  constructor(
    readonly subject: string,
    readonly packetError: unknown,
    options?: { cause?: unknown },
  ) {
    super(`rpc ${subject} failed: ${JSON.stringify(packetError ?? 'empty reply')}`, options);
    this.name = 'RpcReplyError';
  }
}

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
  const msg = await nc
    .request(subject, enc.encode(JSON.stringify({ pattern: subject, data, id: randomUUID() })), { timeout: timeoutMs })
    .catch((err: unknown) => {
      throw new RpcRequestError(subject, { cause: err });
    });
  let packet: { response?: RpcReply; err?: unknown };
  try {
    packet = JSON.parse(dec.decode(msg.data)) as typeof packet;
  } catch (err) {
    throw new RpcReplyError(subject, 'unreadable reply', { cause: err });
  }
  if (packet.err !== undefined || !packet.response) throw new RpcReplyError(subject, packet.err);
  return packet.response;
}
