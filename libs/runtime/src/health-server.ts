import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';

/**
 * A readiness check: resolves (ok), throws (not ready: the message says why) or resolves `{ degraded: reason }`
 * (ready, but something needs an operator, e.g. a dead-lettered event).
 */
export type ReadinessCheck = () => Promise<unknown>;

/** `ready` (every check ok), `degraded` (ok or degraded) or `not_ready` (a check failed: 503). */
export function readiness(results: Record<string, string>): { status: 'ready' | 'degraded' | 'not_ready'; ok: boolean } {
  const values = Object.values(results);
  if (values.some((r) => r !== 'ok' && !r.startsWith('degraded'))) return { status: 'not_ready', ok: false };
  if (values.some((r) => r !== 'ok')) return { status: 'degraded', ok: true };
  return { status: 'ready', ok: true };
}

/**
 * `/healthz` (the process is up), `/readyz` (every check passes: NATS, Postgres, projections ...; 503 naming
 * what failed, 200 `degraded` when something only needs an operator) and `/metrics`
 * (Prometheus text) for services that have no HTTP API of their own.
 */
export async function startHealthServer(opts: {
  port: number;
  host?: string;
  metrics: Metrics;
  checks: Record<string, ReadinessCheck>;
}): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (url === '/readyz') {
      const results = await runChecks(opts.checks);
      const { status, ok } = readiness(results);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status, checks: results }));
      return;
    }
    if (url === '/metrics') {
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(await opts.metrics.registry.metrics());
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/problem+json' })
      .end(JSON.stringify({ type: 'https://docs.partner-platform.dev/problems/not-found', title: 'Not found', status: 404 }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { server, port, close: () => new Promise((r) => server.close(() => r())) };
}

export async function runChecks(checks: Record<string, ReadinessCheck>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        const r = await Promise.race([
          check(),
          new Promise<never>((_, rej) => setTimeout(() => rej(new Error('no answer within 2000 ms')), 2000).unref()),
        ]);
        out[name] = r && typeof r === 'object' && 'degraded' in r ? `degraded: ${String(r.degraded)}` : 'ok';
      } catch (err) {
        out[name] = err instanceof Error ? err.message : String(err);
      }
    }),
  );
  return out;
}
