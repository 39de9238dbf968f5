import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Logger } from '@pep/runtime';
import { SignJWT } from 'jose';
import { request } from 'undici';

/** A GitHub API failure with its status and GitHub's message; `code` names why, for the caller's reason. */
export class GithubApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: 'not_found' | 'rate_limited' | 'unauthorized' | 'invalid' | 'unavailable',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GithubApiError';
  }
}

export interface GithubClientOptions {
  apiUrl: string;
  appId: number;
  privateKeyPem: string;
  refreshMarginSec: number;
  maxRateWaitMs: number;
  logger: Logger;
  now?: () => number;
  /** What GitHub reported of a rate-limit bucket after each call (`x-ratelimit-remaining` of `x-ratelimit-limit`). */
  onRateLimit?: (bucket: 'app' | 'installation', remaining: number, limit: number) => void;
}

interface RateState {
  remaining: number;
  resetAt: number;
}

/**
 * The GitHub App's REST client: the App authenticates with an RS256 JWT (iss = app id, 10 min max), and
 * acts in a repository with an installation access token, cached until `refreshMarginSec` before it
 * expires. Rate limits are honoured: when `x-ratelimit-remaining` reaches 0 the next call waits for
 * `x-ratelimit-reset`, and a secondary limit (403/429 with `retry-after`) is waited out and retried, as
 * long as the wait fits `maxRateWaitMs` and the caller's deadline; otherwise it fails as `rate_limited`.
 */
export function createGithubClient(o: GithubClientOptions) {
  const now = o.now ?? (() => Date.now());
  const key: KeyObject = createPrivateKey(o.privateKeyPem.replace(/\\n/g, '\n'));
  const base = o.apiUrl.replace(/\/+$/, '');
  const tokens = new Map<number, { token: string; expiresAt: number }>();
  const pendingTokens = new Map<number, Promise<string>>();
  const installations = new Map<string, number>();
  const rate = new Map<string, RateState>();
  let jwtCache: { jwt: string; exp: number } | undefined;

  async function appJwt(): Promise<string> {
    const t = Math.floor(now() / 1000);
    if (jwtCache && jwtCache.exp - 60 > t) return jwtCache.jwt;
    const exp = t + 540;
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuedAt(t - 60)
      .setExpirationTime(exp)
      .setIssuer(String(o.appId))
      .sign(key);
    jwtCache = { jwt, exp };
    return jwt;
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function call<T>(
    method: 'GET' | 'POST' | 'PATCH',
    path: string,
    opts: { auth: { kind: 'app' } | { kind: 'installation'; id: number }; body?: unknown; deadline: number },
  ): Promise<{ status: number; data: T }> {
    const bucket = opts.auth.kind === 'app' ? 'app' : `inst:${opts.auth.id}`;
    for (let attempt = 1; ; attempt++) {
      const st = rate.get(bucket);
      if (st && st.remaining <= 0 && st.resetAt > now()) {
        const wait = st.resetAt - now() + 250;
        if (wait > o.maxRateWaitMs || now() + wait > opts.deadline) {
          throw new GithubApiError(`GitHub rate limit exhausted until ${new Date(st.resetAt).toISOString()}`, 403, 'rate_limited');
        }
        o.logger.warn('GitHub rate limit exhausted, waiting for the reset', { bucket, wait_ms: wait });
        await sleep(wait);
      }
      const authorization =
        opts.auth.kind === 'app' ? `Bearer ${await appJwt()}` : `token ${await installationToken(opts.auth.id, opts.deadline)}`;
      const remainingMs = Math.max(500, opts.deadline - now());
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(`${base}${path}`, {
          method,
          headers: {
            authorization,
            accept: 'application/vnd.github+json',
            'x-github-api-version': '2022-11-28',
            'user-agent': 'pep-github-bridge',
            ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
          headersTimeout: remainingMs,
          bodyTimeout: remainingMs,
        });
      } catch (err) {
        throw new GithubApiError(`GitHub is unreachable: ${(err as Error).message}`, 0, 'unavailable', { cause: err });
      }
      const text = await res.body.text();
      const h = (n: string) => {
        const v = res.headers[n];
        return Array.isArray(v) ? v[0] : v;
      };
      const remaining = h('x-ratelimit-remaining');
      const reset = h('x-ratelimit-reset');
      if (remaining !== undefined && reset !== undefined) rate.set(bucket, { remaining: Number(remaining), resetAt: Number(reset) * 1000 });
      const limit = h('x-ratelimit-limit');
      if (remaining !== undefined && limit !== undefined) o.onRateLimit?.(opts.auth.kind, Number(remaining), Number(limit));
      const data = (text ? JSON.parse(text) : null) as T & { message?: string };
      if ((res.statusCode === 403 || res.statusCode === 429) && attempt <= 3) {
        const retryAfter = h('retry-after');
        const wait =
          retryAfter !== undefined
            ? Number(retryAfter) * 1000
            : remaining === '0' && reset
              ? Number(reset) * 1000 - now() + 250
              : undefined;
        if (wait !== undefined) {
          if (wait > o.maxRateWaitMs || now() + wait > opts.deadline) {
            throw new GithubApiError(
              `GitHub rate limit: ${data?.message ?? res.statusCode}; retry after ${Math.ceil(wait / 1000)} s`,
              res.statusCode,
              'rate_limited',
            );
          }
          o.logger.warn('GitHub rate limited the call, waiting', { path, wait_ms: wait, secondary: retryAfter !== undefined });
          await sleep(Math.max(0, wait));
          continue;
        }
      }
      if (res.statusCode >= 500 && attempt <= 2 && now() + 500 < opts.deadline) {
        await sleep(300 * attempt);
        continue;
      }
      if (res.statusCode >= 400) {
        const code =
          res.statusCode === 404
            ? 'not_found'
            : res.statusCode === 401
              ? 'unauthorized'
              : res.statusCode >= 500
                ? 'unavailable'
                : res.statusCode === 403 || res.statusCode === 429
                  ? 'rate_limited'
                  : 'invalid';
        throw new GithubApiError(
          `GitHub ${method} ${path} answered ${res.statusCode}: ${data?.message ?? text.slice(0, 200)}`,
          res.statusCode,
          code,
        );
      }
      return { status: res.statusCode, data };
    }
  }

  /** The installation access token, from the cache or freshly created (one creation at a time per installation). */
  async function installationToken(id: number, deadline: number): Promise<string> {
    const cached = tokens.get(id);
    if (cached && cached.expiresAt - o.refreshMarginSec * 1000 > now()) return cached.token;
    let pending = pendingTokens.get(id);
    if (!pending) {
      pending = call<{ token: string; expires_at: string }>('POST', `/app/installations/${id}/access_tokens`, {
        auth: { kind: 'app' },
        body: {},
        deadline,
      })
        .then(({ data }) => {
          tokens.set(id, { token: data.token, expiresAt: Date.parse(data.expires_at) });
          return data.token;
        })
        .finally(() => pendingTokens.delete(id));
      pendingTokens.set(id, pending);
    }
    return pending;
  }

  return {
    appJwt,
    installationToken,
    /** The App's installation on a repository (cached). */
    async installationFor(owner: string, repo: string, deadline: number): Promise<number> {
      const k = `${owner}/${repo}`.toLowerCase();
      const hit = installations.get(k);
      if (hit) return hit;
      const { data } = await call<{ id: number }>('GET', `/repos/${owner}/${repo}/installation`, { auth: { kind: 'app' }, deadline });
      installations.set(k, data.id);
      return data.id;
    },
    /** A call in a repository, with its installation's token. */
    async repo<T>(owner: string, repo: string, method: 'GET' | 'POST' | 'PATCH', path: string, deadline: number, body?: unknown) {
      const id = await this.installationFor(owner, repo, deadline);
      return call<T>(method, `/repos/${owner}/${repo}${path}`, {
        auth: { kind: 'installation', id },
        deadline,
        ...(body !== undefined ? { body } : {}),
      });
    },
  };
}
export type GithubClient = ReturnType<typeof createGithubClient>;
