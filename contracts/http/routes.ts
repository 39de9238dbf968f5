import type { z } from 'zod';

/**
 * An HTTP route of the public API. The gateway registers every route from this table: it authenticates,
 * checks the scope, validates params/query/body with these schemas (422 naming the field), then forwards
 * the request over NATS request-reply to the owning service (`service` + `pattern`). OpenAPI is generated
 * from the same table, so the docs cannot drift from what the gateway enforces.
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RouteContract {
  operationId: string;
  method: HttpMethod;
  /** Fastify-style path: `/v1/partners/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** Owning service and the pattern it answers (the gateway adds the RPC prefix). */
  service: string;
  pattern: string;
  /** Scope a credential needs (`admin` credentials pass every scope check). */
  scope: string;
  /** Only admin credentials may call it. */
  adminOnly?: boolean;
  /** Unauthenticated (discovery, public reads). */
  public?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Success status and schema of the success body (null for 204). */
  success: {
    status: number;
    schema: z.ZodType | null;
    description?: string;
    /** A file answer (okFile) instead of JSON: its media type, documented as binary. */
    contentType?: string;
  };
  /** Extra documented error statuses beyond the common ones (400, 401, 404, 413, 422, 429). */
  errors?: number[];
  /**
   * Forward the body unparsed (webhook ingress that verifies a signature over the raw bytes): the service
   * receives `body: { raw_base64, content_type }` and the request headers, and does its own validation.
   */
  raw?: boolean;
  /** Reply timeout for the NATS request (default 5 s). */
  timeoutMs?: number;
  /**
   * Portal sessions (contracts/accounts): `start` — the service's reply carries `session_secret`, which the gateway
   * removes from the body and sets as the session cookie (adding `csrf_token`); `current` — the gateway adds the
   * cookie session's `csrf_token` to the reply; `end` — the gateway clears the session cookie.
   */
  session?: 'start' | 'current' | 'end';
}

export const routes: RouteContract[] = [];

export function defineRoutes(list: RouteContract[]): RouteContract[] {
  for (const r of list) {
    if (routes.some((x) => x.operationId === r.operationId)) throw new Error(`route ${r.operationId} defined twice`);
    routes.push(r);
  }
  return list;
}

/** What the gateway sends to the owning service. */
export interface RpcRequest<B = unknown, P = Record<string, string>, Q = Record<string, unknown>> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  /** W3C trace context of the HTTP request. */
  traceparent?: string;
  request_id: string;
  /** Lower-cased request headers; only sent for `raw` routes. */
  headers?: Record<string, string>;
  /** The client's IP address as the gateway saw it (sign-in throttling per address). */
  client_address?: string;
}

/**
 * A non-JSON answer (an invoice PDF, a CSV report): the gateway sends the bytes with this content type instead of
 * `body` (and, with a filename, as an attachment). File answers are never kept for idempotent replay.
 */
export interface RpcFile {
  content_type: string;
  base64: string;
  filename?: string;
}

/** What the owning service answers. */
export type RpcReply =
  | { ok: true; status: number; body: unknown; headers?: Record<string, string>; file?: RpcFile }
  | { ok: false; problem: { type: string; title: string; status: number; detail?: string; [k: string]: unknown } };

export interface Principal {
  /** `anonymous`: a `public` route called without a credential (no partner, no scopes). */
  kind: 'admin' | 'partner' | 'oauth' | 'anonymous';
  /** The partner the credential belongs to; absent for platform admins. */
  partner_id?: string;
  scopes: string[];
  credential_id: string;
  /** A portal session's user (`usr_...`); `credential_id` is then the session id (`ses_...`). */
  user_id?: string;
}
