import type { Principal, RpcReply } from '@pep/contracts';
import { rpcCall } from '@pep/service';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TestNames } from './names.ts';

/** What a test sends with an RPC request beside the principal. */
export interface RpcTestRequest {
  body?: unknown;
  params?: Record<string, string>;
  query?: Record<string, unknown>;
}

/**
 * Calls one service's RPC patterns in this test's isolated world, the way the gateway does (`rpcCall`):
 * `call` answers the reply, `ok` the body of a success (throwing with the problem otherwise).
 */
export function serviceRpc(nc: NatsConnection, names: TestNames, service: string, timeoutMs = 15_000) {
  const call = (pattern: string, principal: Principal, req: RpcTestRequest = {}): Promise<RpcReply> =>
    rpcCall(nc, `${names.RPC_PREFIX}.${service}.${pattern}`, { principal, ...req }, timeoutMs);
  const ok = async <T = Record<string, unknown>>(pattern: string, principal: Principal, req: RpcTestRequest = {}): Promise<T> => {
    const r = await call(pattern, principal, req);
    if (!r.ok) throw new Error(`${pattern} failed: ${JSON.stringify(r.problem)}`);
    return r.body as T;
  };
  return { call, ok };
}
