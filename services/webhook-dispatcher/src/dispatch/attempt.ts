import { signWebhook, UnsafeUrlError } from '@pep/webhooks';
import { type Dispatcher, errors as undiciErrors, request } from 'undici';
import { parseRetryAfter } from './retry-policy.ts';

export const EXCERPT_BYTES = 4096;

export interface AttemptInput {
  deliveryId: string;
  url: string;
  body: string;
  secrets: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  traceparent: string;
  now: Date;
}

export interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  excerpt: string | null;
  /** timeout, connect_error, ssrf_refused, http_error, network_error. */
  errorClass: string | null;
  error: string | null;
  retryAfterMs: number | undefined;
}

function classify(err: unknown): { cls: string; msg: string } {
  let e: unknown = err;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof UnsafeUrlError) return { cls: 'ssrf_refused', msg: e.message };
    e = (e as { cause?: unknown }).cause;
  }
  const error = err as Error & { code?: string; name?: string };
  if (
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError ||
    error?.name === 'TimeoutError' ||
    error?.name === 'AbortError'
  ) {
    return { cls: 'timeout', msg: 'timed out' };
  }
  if (error?.code && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET/.test(error.code)) {
    return { cls: 'connect_error', msg: `${error.code}` };
  }
  return { cls: 'network_error', msg: `${error?.name ?? 'Error'}: ${error?.message ?? String(err)}`.slice(0, 500) };
}

/**
 * One HTTP attempt: POST the event envelope JSON signed per Standard Webhooks (with every valid secret),
 * with the endpoint's custom headers and a child `traceparent`; 2xx is success. The response body is kept
 * up to 4 KiB for the attempt log.
 */
export async function sendAttempt(dispatcher: Dispatcher, a: AttemptInput): Promise<AttemptOutcome> {
  const signed = signWebhook({ id: a.deliveryId, timestamp: a.now, body: a.body, secrets: a.secrets });
  const started = performance.now();
  try {
    const res = await request(a.url, {
      method: 'POST',
      dispatcher,
      headers: {
        ...a.headers,
        'content-type': 'application/json',
        'user-agent': 'pep-webhooks/1.0',
        traceparent: a.traceparent,
        ...signed,
      },
      body: a.body,
      headersTimeout: a.timeoutMs,
      bodyTimeout: a.timeoutMs,
      signal: AbortSignal.timeout(a.timeoutMs),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      const b = chunk as Buffer;
      if (size < EXCERPT_BYTES) chunks.push(b.subarray(0, EXCERPT_BYTES - size));
      size += b.length;
      if (size >= EXCERPT_BYTES) break;
    }
    if (size >= EXCERPT_BYTES) res.body.destroy();
    const latencyMs = performance.now() - started;
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const excerpt = chunks.length ? Buffer.concat(chunks).toString('utf8') : null;
    return {
      ok,
      statusCode: res.statusCode,
      latencyMs,
      excerpt,
      errorClass: ok ? null : 'http_error',
      error: ok ? null : `HTTP ${res.statusCode}`,
      retryAfterMs: ok ? undefined : parseRetryAfter(res.headers['retry-after'], a.now),
    };
  } catch (err) {
    const { cls, msg } = classify(err);
    return {
      ok: false,
      statusCode: null,
      latencyMs: performance.now() - started,
      excerpt: null,
      errorClass: cls,
      error: msg,
      retryAfterMs: undefined,
    };
  }
}
