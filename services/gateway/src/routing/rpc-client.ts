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

/**
 * The owning service cannot answer now (no responder, no answer in time, connection lost): 503 with
 * `Retry-After` and the service's name (`service` in the problem), so a client knows whom it waited for.
 */
export class ServiceUnavailableError extends UnavailableError {
  constructor(
    readonly service: string,
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, {
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
      extensions: { service, retry_after: retryAfterSeconds },
    });
  }
}

export function rpcSubject(rpcPrefix: string, service: string, pattern: string): string {
  return `${rpcPrefix}.${service}.${pattern}`;
}

const NO_RESPONDER_POLL_MS = 200;

/**
 * NATS request-reply to the owning service through @nestjs/microservices' ClientNats. No responder (the service
 * is down) and no answer in time both become a ServiceUnavailableError (503 + Retry-After): the honest answer
 * when the owner is down. "No responders" means nobody received the request, so it is safe to send it again:
 * for up to `waitForResponderMs` (the gateway's start-up window) the request waits for the service to come up.
 */
export async function requestService(
  client: ClientNats,
  opts: { subject: string; service: string; request: RpcRequest; timeoutMs: number; waitForResponderMs?: number },
): Promise<RpcReply> {
  const h = natsHeaders();
  if (opts.request.traceparent) h.set('traceparent', opts.request.traceparent);
  h.set('x-request-id', opts.request.request_id);
  const record = new NatsRecordBuilder(opts.request).setHeaders(h).build();
  const waitUntil = Date.now() + Math.max(0, opts.waitForResponderMs ?? 0);
  let answer: unknown;
  for (;;) {
    try {
      answer = await firstValueFrom(client.send(opts.subject, record).pipe(timeout(opts.timeoutMs)));
      break;
    } catch (err) {
      if (err instanceof TimeoutError) {
        throw new ServiceUnavailableError(
          opts.service,
          `the ${opts.service} service did not answer within ${opts.timeoutMs} ms; retry later`,
          2,
          {
            cause: err,
          },
        );
      }
      if (err instanceof EmptyResponseException || isNoResponders(err)) {
        const left = waitUntil - Date.now();
        if (left > 0) {
          await new Promise((r) => setTimeout(r, Math.min(NO_RESPONDER_POLL_MS, left)));
          continue;
        }
        throw new ServiceUnavailableError(opts.service, `the ${opts.service} service is not available; retry later`, 1, { cause: err });
      }
      // ClientNats rejects with a plain string ('Error: Connection lost. Trying to reconnect...') while it is
      // disconnected from NATS, not with an Error: match the text of either.
      if (/connection (closed|lost)/i.test(describe(err))) {
        throw new ServiceUnavailableError(opts.service, `the ${opts.service} service cannot be reached; retry later`, 1, { cause: err });
      }
      throw new UpstreamError(`the ${opts.service} service failed: ${describe(err)}`, { cause: err });
    }
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
  if (r.ok === true) {
    const f = r.file as Record<string, unknown> | undefined;
    const fileOk =
      f === undefined || (typeof f === 'object' && f !== null && typeof f.content_type === 'string' && typeof f.base64 === 'string');
    return typeof r.status === 'number' && r.status >= 100 && r.status < 600 && fileOk;
  }
  if (r.ok === false) {
    const p = r.problem as Record<string, unknown> | undefined;
    return typeof p === 'object' && p !== null && typeof p.status === 'number' && p.status >= 400 && p.status < 600;
  }
  return false;
}
