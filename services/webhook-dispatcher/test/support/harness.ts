import { randomBytes, randomUUID } from 'node:crypto';
import type { PlatformEvent, Principal, RpcReply } from '@pep/contracts';
import { type EventBus, externalSubject, publishEvent } from '@pep/events';
import { freePort, NATS_URL, serviceEnv, spawnService, type TestNames, waitReady } from '@pep/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export const SECRET_KEY = randomBytes(32).toString('hex');

/** Starts a real webhook-dispatcher process in this test's isolated world; loopback is allowlisted. */
export async function startDispatcherProcess(names: TestNames, extra: Record<string, string> = {}) {
  const port = await freePort();
  const proc = spawnService(
    'webhook-dispatcher',
    serviceEnv(names, {
      HEALTH_PORT: String(port),
      STREAM_MAX_AGE_HOURS: '2',
      WEBHOOK_SECRET_KEY: SECRET_KEY,
      WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8,::1',
      WEBHOOK_POLL_MS: '50',
      ...extra,
    }),
  );
  await waitReady(`http://127.0.0.1:${port}/readyz`, proc);
  return { proc, healthUrl: `http://127.0.0.1:${port}` };
}

export const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'cred_admin' };
export const partner = (id: string): Principal => ({
  kind: 'partner',
  partner_id: id,
  scopes: ['read:webhooks', 'write:webhooks'],
  credential_id: `cred_${id}`,
});

/** Speaks to the dispatcher's handlers the way the gateway does (@nestjs/microservices NATS packets). */
export async function rpcClient(names: TestNames) {
  const nc: NatsConnection = await connect({ servers: NATS_URL });
  return {
    async call(
      pattern: string,
      principal: Principal,
      req: { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown } = {},
    ): Promise<RpcReply> {
      const data = { principal, params: req.params ?? {}, query: req.query ?? {}, body: req.body, request_id: randomUUID() };
      const msg = await nc.request(
        `${names.RPC_PREFIX}.webhook-dispatcher.${pattern}`,
        JSON.stringify({ id: randomUUID(), pattern, data }),
        {
          timeout: 15_000,
        },
      );
      return (JSON.parse(new TextDecoder().decode(msg.data)) as { response: RpcReply }).response;
    },
    /** Like call, but throws unless the reply is a success, and returns its body. */
    async ok<T = any>(pattern: string, principal: Principal, req: Parameters<typeof this.call>[2] = {}): Promise<T> {
      const r = await this.call(pattern, principal, req);
      if (!r.ok) throw new Error(`${pattern} failed: ${JSON.stringify(r.problem)}`);
      return r.body as T;
    },
    close: () => nc.drain(),
  };
}

let counter = 0;
export function businessEvent(partnerId: string, type: string, data: Record<string, unknown> = {}): PlatformEvent {
  counter++;
  return {
    specversion: '1.0',
    id: `evt_${Date.now().toString(36)}_${counter}_${randomBytes(3).toString('hex')}`,
    source: 'test',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    schemaversion: 1,
    partnerid: partnerId,
    data,
  };
}

export function publishBusiness(bus: EventBus, partnerId: string, type: string, data: Record<string, unknown> = {}) {
  const ev = businessEvent(partnerId, type, data);
  return publishEvent(bus, externalSubject(bus.prefix, partnerId, type), ev).then(() => ev);
}
