import { randomBytes } from 'node:crypto';
import { type NatsServer, natsServer, type TestNames, testNames, waitJetStream, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from './support/gateway.ts';

// The gateway on its OWN nats-server (never the machine's), which the test kills with SIGKILL and starts again:
// the gateway process stays up, answers 503 with Retry-After at once while the broker is away (no request hangs
// for a full ack timeout), says why on /readyz, and accepts events again by itself once the broker is back.
let names: TestNames;
let nats: NatsServer | undefined;
let gw: Awaited<ReturnType<typeof startGateway>>;

/** Starts (or restarts, same port and store) the test's own nats-server and waits for JetStream. */
async function startNats(): Promise<NatsServer> {
  if (!nats) nats = await natsServer();
  else await nats.start();
  await waitJetStream(nats.url, 15_000);
  return nats;
}

const lead = () => {
  const id = randomBytes(6).toString('hex');
  return { specversion: '1.0', id, source: 'crm.test', type: 'lead.created', data: { lead_id: `l_${id}`, email: `${id}@example.com` } };
};

const publish = async () => {
  const started = Date.now();
  const r = await fetch(`${gw.url}/v1/events`, {
    method: 'POST',
    headers: { ...gw.auth, 'content-type': 'application/json' },
    body: JSON.stringify(lead()),
  });
  await r.text();
  return { status: r.status, retryAfter: r.headers.get('retry-after'), ms: Date.now() - started };
};

beforeAll(async () => {
  names = testNames('gwo');
  const server = await startNats();
  gw = await startGateway(names, { NATS_URL: server.url, GATEWAY_PUBLISH_TIMEOUT_MS: '1500' });
}, 120_000);

afterAll(async () => {
  await gw?.proc.stop();
  await nats?.destroy();
});

describe('gateway while its broker is away', () => {
  it('answers 503 with Retry-After at once, reports not ready, and accepts events again by itself', async () => {
    expect((await publish()).status).toBe(202);

    await nats?.kill('SIGKILL');
    const outage = await waitUntil(
      async () => {
        const r = await publish();
        return r.status === 503 ? r : undefined;
      },
      { timeoutMs: 10_000, what: 'a 503 while the broker is away' },
    );
    expect(outage.retryAfter).toMatch(/^\d+$/);
    const during = [];
    for (let i = 0; i < 5; i++) during.push(await publish());
    const ready = await fetch(`${gw.url}/readyz`);
    const readiness = (await ready.json()) as { status: string; checks: Record<string, string> };
    process.stdout.write(
      `broker-outage: answers while NATS was away: ${during.map((d) => `${d.status} in ${d.ms} ms (Retry-After ${d.retryAfter})`).join(', ')}; /readyz ${ready.status} ${JSON.stringify(readiness.checks)}\n`,
    );
    for (const d of during) {
      expect(d.status).toBe(503);
      expect(d.retryAfter).toMatch(/^\d+$/);
    }
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(readiness.checks.nats).not.toBe('ok');
    expect(gw.proc.child.exitCode).toBeNull();

    await startNats();
    const backAt = Date.now();
    await waitUntil(async () => ((await publish()).status === 202 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'the gateway to accept events again',
    });
    process.stdout.write(`broker-outage: first 202 ${Date.now() - backAt} ms after NATS was back\n`);
    await waitUntil(async () => ((await fetch(`${gw.url}/readyz`)).status === 200 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'the gateway to be ready again',
    });
    expect(gw.proc.child.exitCode).toBeNull();
  });
});
