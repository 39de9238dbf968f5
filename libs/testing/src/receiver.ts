import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  headers: IncomingMessage['headers'];
  at: number;
  verified: boolean;
}

/** Whether a request is signed with this secret (Standard Webhooks); a failed verification is the answer "no". */
function verifies(secret: string, body: string, headers: Record<string, string>): boolean {
  try {
    new Webhook(secret).verify(body, headers);
    return true;
  } catch (err) {
    if (err instanceof Error) return false;
    throw err;
  }
}

/**
 * A real HTTP receiver on loopback (webhook tests, benches, the demo). Every request is verified with the
 * `standardwebhooks` package against the secrets it is told; `respond` decides the answer (default 204).
 * `keep: false` keeps no list of what arrived (a bench's long runs count in `respond` instead).
 */
export async function startReceiver(opts: { keep?: boolean } = {}) {
  const keep = opts.keep ?? true;
  const received: Received[] = [];
  const secrets: string[] = [];
  let respond: (r: Received, res: ServerResponse) => void | Promise<void> = (_r, res) => {
    res.statusCode = 204;
    res.end();
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const h = req.headers as Record<string, string>;
      let verified = false;
      for (const s of secrets) {
        if (verifies(s, body, h)) verified = true;
      }
      const r: Received = {
        id: h['webhook-id'] ?? '',
        timestamp: h['webhook-timestamp'] ?? '',
        signature: h['webhook-signature'] ?? '',
        body,
        headers: req.headers,
        at: Date.now(),
        verified,
      };
      if (keep) received.push(r);
      void respond(r, res);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    secrets,
    setRespond(fn: typeof respond) {
      respond = fn;
    },
    uniqueIds: () => new Set(received.map((r) => r.id)),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
