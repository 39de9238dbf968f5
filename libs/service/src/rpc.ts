import 'reflect-metadata';
import type { RpcReply, RpcRequest } from '@pep/contracts';
import { isConnectionError } from '@pep/events';
import { AppError, type Logger, type Metrics, toProblem, UnavailableError } from '@pep/runtime';
// The transport's own module, not the package index: the index loads every transport and the Nest application
// container (@nestjs/core), 6 MiB more heap in each service for nothing it uses (`pnpm bench:footprint`).
import { ServerNats } from '@nestjs/microservices/server/server-nats.js';
import { rpcObserver } from './rpc-observe.ts';

export type RpcHandler = (req: RpcRequest) => Promise<RpcReply>;

export function rpcSubject(rpcPrefix: string, service: string, pattern: string): string {
  return `${rpcPrefix}.${service}.${pattern}`;
}

export function ok(body: unknown, status = 200, headers?: Record<string, string>): RpcReply {
  return headers ? { ok: true, status, body, headers } : { ok: true, status, body };
}

/** A file answer (PDF, CSV): the gateway sends these bytes with `contentType`; a `filename` makes it an attachment. */
export function okFile(bytes: Buffer | string, contentType: string, filename?: string, headers?: Record<string, string>): RpcReply {
  const base64 = (typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes).toString('base64');
  return {
    ok: true,
    status: 200,
    body: null,
    file: { content_type: contentType, base64, ...(filename === undefined ? {} : { filename }) },
    ...(headers ? { headers } : {}),
  };
}

/**
 * Wraps a use case: thrown AppErrors become problem replies, the service's database being away a 503 (the
 * gateway adds Retry-After), anything else a logged opaque 500.
 */
export function handler(logger: Logger, fn: (req: RpcRequest) => Promise<RpcReply>): RpcHandler {
  return async (req) => {
    try {
      return await fn(req);
    } catch (caught) {
      let err = caught;
      if (!(err instanceof AppError) && isConnectionError(err)) {
        logger.warn('request needs the database, which is unavailable', { request_id: req?.request_id, err: (err as Error).message });
        err = new UnavailableError('the service database is unavailable; retry the request later', { cause: err });
      }
      const problem = toProblem(err);
      if (problem.status >= 500) logger.error('rpc handler failed', { err, request_id: req?.request_id });
      return { ok: false, problem };
    }
  };
}

/**
 * The NATS request-reply server of a service (@nestjs/microservices' ServerNats). Patterns are registered at
 * run time under `<RPC_PREFIX>.<service>.` so tests can run isolated stacks side by side; the queue group
 * spreads requests over the service's replicas.
 */
export function createRpcServer(opts: {
  natsUrl: string;
  service: string;
  rpcPrefix: string;
  handlers: Record<string, RpcHandler>;
  gracePeriodMs?: number;
  metrics?: Metrics;
}) {
  const observe = rpcObserver(opts.service, opts.metrics);
  const server = new ServerNats({
    servers: opts.natsUrl.split(','),
    queue: opts.service,
    name: `${opts.service}-rpc`,
    gracePeriod: opts.gracePeriodMs ?? 2000,
    maxReconnectAttempts: -1,
  } as never);
  for (const [pattern, fn] of Object.entries(opts.handlers)) {
    server.addHandler(rpcSubject(opts.rpcPrefix, opts.service, pattern), observe(pattern, fn));
  }
  return server;
}
