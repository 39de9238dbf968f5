import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';

export type ReadinessCheck = () => Promise<void>;

/**
 * `/healthz` (the process is up), `/readyz` (every check passes: NATS, Postgres, ...) and `/metrics`
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
      const ok = Object.values(results).every((r) => r === 'ok');
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks: results }));
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
        await Promise.race([check(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000).unref())]);
        out[name] = 'ok';
      } catch (err) {
        out[name] = err instanceof Error ? err.message : String(err);
      }
    }),
  );
  return out;
}
