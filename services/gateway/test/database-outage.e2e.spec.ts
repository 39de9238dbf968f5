import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { bestEffort, createTestBus, freePort, PG_TEMPLATE, type TestNames, testNames, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from './support/gateway.ts';

// The gateway's Postgres goes away (a loopback TCP proxy in front of the machine's Postgres is cut: every
// connection drops, new ones are refused; the shared server is never touched). Publishing needs only NATS, so
// the gateway keeps accepting events, stays ready (degraded), and answers what needs its database with 503 +
// Retry-After; when the database is back everything works again, and the process never exited.
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let gw: Awaited<ReturnType<typeof startGateway>>;
let proxy: Server | undefined;
let proxyPort: number;
const sockets = new Set<Socket>();
const pg = new URL(PG_TEMPLATE.replace('{db}', 'postgres'));

function openProxy(): Promise<void> {
  proxy = createServer((client) => {
    const upstream = tcpConnect(Number(pg.port || 5432), pg.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => proxy?.listen(proxyPort, '127.0.0.1', () => resolve()));
}

function cutProxy(): Promise<void> {
  return new Promise((resolve) => {
    proxy?.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
}

const lead = () => {
  const id = randomBytes(6).toString('hex');
  return { specversion: '1.0', id, source: 'crm.test', type: 'lead.created', data: { lead_id: `l_${id}`, email: `${id}@example.com` } };
};
const publish = async (headers: Record<string, string> = {}) => {
  const r = await fetch(`${gw.url}/v1/events`, {
    method: 'POST',
    headers: { ...gw.auth, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(lead()),
  });
  await r.text();
  return { status: r.status, retryAfter: r.headers.get('retry-after') };
};

beforeAll(async () => {
  names = testNames('gwd');
  world = await createTestBus(names, ['gateway']);
  proxyPort = await freePort();
  await openProxy();
  const template = new URL(PG_TEMPLATE.replace('{db}', 'DBNAME'));
  template.hostname = '127.0.0.1';
  template.port = String(proxyPort);
  gw = await startGateway(names, { DATABASE_URL_TEMPLATE: template.toString().replace('DBNAME', '{db}') });
}, 120_000);

afterAll(async () => {
  await gw?.proc.stop();
  await bestEffort('cut the proxy', cutProxy());
  await world?.cleanup();
});

describe('gateway while its database is away', () => {
  it('keeps accepting events, stays ready (degraded), answers 503 + Retry-After for what needs the database', async () => {
    expect((await publish()).status).toBe(202);
    expect((await publish({ 'idempotency-key': `k-${randomBytes(4).toString('hex')}` })).status).toBe(202);

    await cutProxy();
    const accepted = [];
    for (let i = 0; i < 20; i++) accepted.push((await publish()).status);
    const keyed = await publish({ 'idempotency-key': `k-${randomBytes(4).toString('hex')}` });
    const ready = await fetch(`${gw.url}/readyz`);
    const readiness = (await ready.json()) as { status: string; checks: Record<string, string> };
    process.stdout.write(
      `database-outage: events while Postgres was away: ${accepted.filter((s) => s === 202).length}/20 accepted; with Idempotency-Key: ${keyed.status} (Retry-After ${keyed.retryAfter}); /readyz ${ready.status} ${readiness.status} postgres="${readiness.checks.postgres}"\n`,
    );
    expect(accepted).toEqual(Array(20).fill(202));
    expect(keyed.status).toBe(503);
    expect(keyed.retryAfter).toMatch(/^\d+$/);
    expect(ready.status).toBe(200);
    expect(readiness.status).toBe('degraded');
    expect(readiness.checks.postgres).toMatch(/^degraded/);

    await openProxy();
    await waitUntil(
      async () => ((await publish({ 'idempotency-key': `k-${randomBytes(4).toString('hex')}` })).status === 202 ? true : undefined),
      {
        timeoutMs: 15_000,
        what: 'a request needing the database to succeed again',
      },
    );
    await waitUntil(
      async () => {
        const r = (await (await fetch(`${gw.url}/readyz`)).json()) as { status: string };
        return r.status === 'ready' ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'the gateway to be fully ready again' },
    );
    expect(gw.proc.child.exitCode).toBeNull();
  });
});
