import type { RpcReply, RpcRequest } from '@pep/contracts';
import { UnavailableError } from '@pep/runtime';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { type ClientNats, NatsRecordBuilder } from '@nestjs/microservices';
import { EmptyResponseException } from '@nestjs/microservices/errors/empty-response.exception.js';
import { firstValueFrom, TimeoutError, timeout } from 'rxjs';

/** A service answered something that is not an RpcReply, or failed without a problem (its handler threw). */
export class UpstreamError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UpstreamError';
  }
}

export function rpcSubject(rpcPrefix: string, service: string, pattern: string): string {
  return `${rpcPrefix}.${service}.${pattern}`;
}

/**
 * NATS request-reply to the owning service through @nestjs/microservices' ClientNats. No responder (the service
 * is down) and no answer in time both become an UnavailableError (503): the honest answer when the owner is down.
 */
export async function requestService(
  client: ClientNats,
  opts: { subject: string; service: string; request: RpcRequest; timeoutMs: number },
): Promise<RpcReply> {
  const h = natsHeaders();
  if (opts.request.traceparent) h.set('traceparent', opts.request.traceparent);
  h.set('x-request-id', opts.request.request_id);
  const record = new NatsRecordBuilder(opts.request).setHeaders(h).build();
  let answer: unknown;
  try {
    answer = await firstValueFrom(client.send(opts.subject, record).pipe(timeout(opts.timeoutMs)));
  } catch (err) {
    if (err instanceof TimeoutError) {
      throw new UnavailableError(`the ${opts.service} service did not answer within ${opts.timeoutMs} ms; retry later`, { cause: err });
    }
    if (err instanceof EmptyResponseException || isNoResponders(err)) {
      throw new UnavailableError(`the ${opts.service} service is not available; retry later`, { cause: err });
    }
    // ClientNats rejects with a plain string ('Error: Connection lost. Trying to reconnect...') while it is
    // disconnected from NATS, not with an Error: match the text of either.
    if (/connection (closed|lost)/i.test(describe(err))) {
      throw new UnavailableError(`the ${opts.service} service cannot be reached; retry later`, { cause: err });
    }
    throw new UpstreamError(`the ${opts.service} service failed: ${describe(err)}`, { cause: err });
  }
  if (!isRpcReply(answer)) throw new UpstreamError(`the ${opts.service} service answered something that is not an RpcReply`);
  return answer;
}

function isNoResponders(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return e?.code === '503' || e?.code === 503 || /no responders/i.test(String(e?.message ?? ''));
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}

export function isRpcReply(v: unknown): v is RpcReply {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  if (r.ok === true) return typeof r.status === 'number' && r.status >= 100 && r.status < 600;
  if (r.ok === false) {
    const p = r.problem as Record<string, unknown> | undefined;
    return typeof p === 'object' && p !== null && typeof p.status === 'number' && p.status >= 400 && p.status < 600;
  }
  return false;
}
