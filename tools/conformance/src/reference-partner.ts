import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

/**
 * The reference implementation of the partner flag webhook (docs/partner-flag-webhook-spec.md), in plain
 * Node. The conformance kit's tests and the rollback tests and bench run against it; partners may copy it.
 *
 *   POST {base}/webhook/pathcanary            toggle a flag (Bearer auth, Idempotency-Key, JSON body)
 *   GET  {base}/webhook/pathcanary/flags/:key  OPTIONAL introspection: the flag's state and toggle count
 */
export interface Toggle {
  flag_key: string;
  action: 'disable' | 'enable';
  incident_id: string;
  reason: string;
  requested_at: string;
  idempotency_key: string;
  /** `performance.timeOrigin + performance.now()` when the toggle was applied (for latency measurements). */
  received_at_ms: number;
}

export interface ReferencePartnerOptions {
  token: string;
  port?: number;
  host?: string;
  /** Added latency per toggle call (to exercise timeouts). */
  latencyMs?: number;
  /** Answer 503 to the first `failFirst` calls of each idempotency key (to exercise retries). */
  failFirst?: number;
  /** Delay between applying a toggle and answering (to simulate a caller that dies before it hears back). */
  replyDelayMs?: number;
  /** Called after each applied (non-replayed) toggle. */
  onToggle?: (t: Toggle) => void;
}

export interface ReferencePartner {
  url: string;
  port: number;
  /** Current state per flag (absent = enabled). */
  flags: Map<string, boolean>;
  /** Every applied toggle, in order (replays are not toggles). */
  toggles: Toggle[];
  /** Every request received (including rejected ones and replays). */
  requests: { method: string; path: string; idempotency_key: string | null; status: number }[];
  close(): Promise<void>;
}

const ACTIONS = new Set(['disable', 'enable']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

const error = (code: string, message: string, field?: string) => ({
  success: false,
  error: { code, message, ...(field ? { field } : {}) },
});

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startReferencePartner(opts: ReferencePartnerOptions): Promise<ReferencePartner> {
  const flags = new Map<string, boolean>();
  const toggles: Toggle[] = [];
  const requests: ReferencePartner['requests'] = [];
  /** Idempotency records: key → the request body and the response first given. */
  const seen = new Map<string, { body: string; status: number; response: unknown }>();
  const failures = new Map<string, number>();

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const idem = (req.headers['idempotency-key'] as string | undefined) ?? null;
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ method: req.method ?? '', path: url.pathname, idempotency_key: idem, status });
      send(res, status, body, headers);
    };
    const authorized = req.headers.authorization === `Bearer ${opts.token}`;
    try {
      if (req.method === 'GET' && url.pathname.startsWith('/webhook/pathcanary/flags/')) {
        if (!authorized) return reply(401, error('unauthorized', 'a valid Bearer token is required'), { 'www-authenticate': 'Bearer' });
        const key = decodeURIComponent(url.pathname.slice('/webhook/pathcanary/flags/'.length));
        return reply(200, { flag_key: key, enabled: flags.get(key) ?? true, toggles: toggles.filter((t) => t.flag_key === key).length });
      }
      if (url.pathname !== '/webhook/pathcanary') return reply(404, error('not_found', 'no such endpoint'));
      if (req.method !== 'POST') return reply(405, error('method_not_allowed', 'use POST'), { allow: 'POST' });
      if (!authorized) return reply(401, error('unauthorized', 'a valid Bearer token is required'), { 'www-authenticate': 'Bearer' });
      const raw = await readBody(req);
      if (!idem || idem.length > 255)
        return reply(400, error('idempotency_key_required', 'the Idempotency-Key header is required (1-255 chars)', 'Idempotency-Key'));
      const prior = seen.get(idem);
      if (prior) {
        if (prior.body !== raw)
          return reply(422, error('idempotency_key_reused', 'this Idempotency-Key was used with a different body', 'Idempotency-Key'));
        return reply(prior.status, prior.response, { 'idempotent-replayed': 'true' });
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      } catch {
        return reply(400, error('invalid_json', 'the body must be a JSON object'));
      }
      const bad = (field: string, message: string) => reply(422, error('invalid_request', message, field));
      if (typeof body.flag_key !== 'string' || !body.flag_key.trim()) return bad('flag_key', 'flag_key is required');
      if (typeof body.action !== 'string' || !ACTIONS.has(body.action)) return bad('action', 'action must be "disable" or "enable"');
      if (typeof body.incident_id !== 'string' || !body.incident_id) return bad('incident_id', 'incident_id is required');
      if (typeof body.reason !== 'string') return bad('reason', 'reason is required');
      if (typeof body.requested_at !== 'string' || !ISO.test(body.requested_at))
        return bad('requested_at', 'requested_at must be an RFC 3339 time');
      const failed = failures.get(idem) ?? 0;
      if (opts.failFirst && failed < opts.failFirst) {
        failures.set(idem, failed + 1);
        return reply(503, error('unavailable', 'try again'), { 'retry-after': '0' });
      }
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
      const enabled = body.action === 'enable';
      flags.set(body.flag_key, enabled);
      const t: Toggle = {
        flag_key: body.flag_key,
        action: body.action as Toggle['action'],
        incident_id: body.incident_id,
        reason: body.reason,
        requested_at: body.requested_at,
        idempotency_key: idem,
        received_at_ms: performance.timeOrigin + performance.now(),
      };
      toggles.push(t);
      const response = { success: true, flag_key: body.flag_key, enabled };
      seen.set(idem, { body: raw, status: 200, response });
      opts.onToggle?.(t);
      if (opts.replyDelayMs) await new Promise((r) => setTimeout(r, opts.replyDelayMs));
      return reply(200, response, { 'idempotent-replayed': 'false' });
    } catch (err) {
      return reply(500, error('internal', (err as Error).message));
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    flags,
    toggles,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// `npm run reference-partner -- --port 8090 --token <token>` (8090 by default: the gateway listens on 8080)
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const token = arg('token') ?? process.env.PARTNER_TOKEN;
  if (!token) {
    process.stderr.write('usage: reference-partner.ts --token <token> [--port 8090]\n');
    process.exit(2);
  }
  startReferencePartner({ token, port: Number(arg('port') ?? 8090), host: arg('host') ?? '127.0.0.1' }).then((p) => {
    process.stdout.write(`reference partner listening on ${p.url}/webhook/pathcanary\n`);
  });
}
