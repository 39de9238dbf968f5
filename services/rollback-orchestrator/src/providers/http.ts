import { createSafeDispatcher, parseAllowlist, type SsrfPolicy } from '@pep/webhooks';
import { type Dispatcher, request } from 'undici';

/** What an action sent and got back, cut to a size that fits an audit trail (secrets redacted). */
export function excerpt(value: unknown, max = 600): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly response: string = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** Outbound HTTP for providers: every connection goes through the SSRF-safe dispatcher of @pep/webhooks. */
export function createOutbound(cfg: { allowlist: string; httpsOnly: boolean }) {
  const policy: SsrfPolicy = { allow: parseAllowlist(cfg.allowlist), httpsOnly: cfg.httpsOnly };
  const dispatcher: Dispatcher = createSafeDispatcher(policy, { connectTimeoutMs: 2000, keepAliveTimeout: 30_000, connections: 64 });
  return {
    policy,
    async send(opts: {
      method: 'POST' | 'PATCH' | 'PUT';
      url: string;
      headers: Record<string, string>;
      body: string;
      timeoutMs: number;
    }): Promise<HttpResult> {
      const u = new URL(opts.url);
      if (policy.httpsOnly && u.protocol !== 'https:') throw new ProviderError(`only https URLs are allowed (${u.origin})`, false);
      const signal = AbortSignal.timeout(opts.timeoutMs);
      try {
        const res = await request(opts.url, {
          method: opts.method,
          headers: opts.headers,
          body: opts.body,
          dispatcher,
          signal,
          maxRedirections: 0,
        } as never);
        const text = await res.body.text();
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
        return { status: res.statusCode, headers, text };
      } catch (err) {
        const e = err as Error & { code?: string };
        if (e.name === 'UnsafeUrlError' || (e.cause as Error | undefined)?.name === 'UnsafeUrlError') {
          throw new ProviderError(`refused by the outbound allowlist: ${e.message}`, false, '', { cause: err });
        }
        const timedOut = signal.aborted || e.name === 'TimeoutError' || e.name === 'AbortError';
        throw new ProviderError(timedOut ? `no answer within ${opts.timeoutMs} ms` : `request failed: ${e.code ?? e.message}`, true, '', {
          cause: err,
        });
      }
    },
    close: () => dispatcher.close(),
  };
}
export type Outbound = ReturnType<typeof createOutbound>;

/** Retries a call with exponential backoff and jitter while it fails in a retryable way, within a budget. */
export async function withRetries<T>(
  attempts: number,
  deadline: number,
  fn: (attempt: number) => Promise<T>,
  baseDelayMs = 100,
): Promise<{ value: T; attempts: number }> {
  let last: unknown;
  let made = 0;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    made = attempt;
    try {
      return { value: await fn(attempt), attempts: attempt };
    } catch (err) {
      last = err;
      if (!(err instanceof ProviderError) || !err.retryable || attempt === attempts) break;
      const delay = baseDelayMs * 4 ** (attempt - 1) * (0.75 + Math.random() * 0.5);
      if (Date.now() + delay >= deadline) break;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  throw Object.assign(last instanceof Error ? last : new Error(String(last)), { attemptsMade: made });
}

export const retryableStatus = (s: number) => s === 408 || s === 425 || s === 429 || s >= 500;
