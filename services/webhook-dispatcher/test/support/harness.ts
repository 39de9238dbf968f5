import { randomBytes, randomUUID } from 'node:crypto';
import type { Attempt, Delivery, PlatformEvent, Principal, RpcReply, WebhookEndpoint, WebhookJob } from '@pep/contracts';
import { type EventBus, externalSubject, publishEvent } from '@pep/events';
import { freePort, NATS_URL, serviceEnv, spawnService, type TestNames, waitReady } from '@pep/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { EndpointAdmin } from '../../src/app/endpoint-admin.ts';
import type { secretKeys } from '../../src/app/secret-keys.ts';

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

interface Page<T> {
  data: T[];
  has_more: boolean;
}
type Secrets = ReturnType<EndpointAdmin['secrets']>;
type Keys = ReturnType<typeof secretKeys>;

/** What each of the dispatcher's RPC patterns answers (the contracts' types, or the use case's own). */
export interface DispatcherReplies {
  'endpoints.create': WebhookEndpoint & { secret: string };
  'endpoints.list': Page<WebhookEndpoint>;
  'endpoints.get': WebhookEndpoint;
  'endpoints.update': WebhookEndpoint;
  'endpoints.secret': Secrets;
  'endpoints.rotate-secret': Secrets;
  'endpoints.recover': WebhookJob;
  'endpoints.replay': WebhookJob;
  'deliveries.list': Page<Delivery>;
  'deliveries.get': Delivery;
  'deliveries.attempts': Page<Attempt>;
  'deliveries.resend': WebhookJob;
  'jobs.get': WebhookJob;
  'event-types.list': { data: { type: string; deliverable: boolean; schema: Record<string, unknown> }[] };
  'ops.secrets.status': Awaited<ReturnType<Keys['status']>>;
  'ops.secrets.reencrypt': Awaited<ReturnType<Keys['reencrypt']>>;
  'ops.projections': { data: { name: string; state: string; open_dead_letters: number }[] };
}

type CallRequest = { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown };

/** Speaks to the dispatcher's handlers the way the gateway does (@nestjs/microservices NATS packets). */
export async function rpcClient(names: TestNames) {
  const nc: NatsConnection = await connect({ servers: NATS_URL });
  async function call(pattern: string, principal: Principal, req: CallRequest = {}): Promise<RpcReply> {
    const data = { principal, params: req.params ?? {}, query: req.query ?? {}, body: req.body, request_id: randomUUID() };
    const msg = await nc.request(`${names.RPC_PREFIX}.webhook-dispatcher.${pattern}`, JSON.stringify({ id: randomUUID(), pattern, data }), {
      timeout: 15_000,
    });
    return (JSON.parse(new TextDecoder().decode(msg.data)) as { response: RpcReply }).response;
  }
  /** Like call, but throws unless the reply is a success, and returns its body (typed by pattern, or as asked). */
  async function ok<P extends keyof DispatcherReplies>(pattern: P, principal: Principal, req?: CallRequest): Promise<DispatcherReplies[P]>;
  async function ok<T>(pattern: string, principal: Principal, req?: CallRequest): Promise<T>;
  async function ok(pattern: string, principal: Principal, req: CallRequest = {}): Promise<unknown> {
    const r = await call(pattern, principal, req);
    if (!r.ok) throw new Error(`${pattern} failed: ${JSON.stringify(r.problem)}`);
    return r.body;
  }
  return { call, ok, close: () => nc.drain() };
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
