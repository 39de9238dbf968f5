// The mission flow's stack for fault tests: every service as its own process (as `npm start` runs them), pointed
// at the test's private engines through NATS_URL and DATABASE_URL_TEMPLATE, plus a loopback webhook receiver that
// counts by `webhook-id`, a reference flag partner for rollbacks, a steady-rate event load through the gateway,
// and the oracle: a fold of the stream.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { StoredEvent } from '@pep/contracts';
import { createDb } from '@pep/db';
import { closeBus, connectBus, type EventBus } from '@pep/events';
import {
  bodyOf,
  type Created,
  freePort,
  type ServiceProcess,
  serviceEnv,
  spawnService,
  type TestNames,
  testNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { type ReferencePartner, startReferencePartner } from '../../../tools/conformance/src/reference-partner.ts';

export const FLAG_TOKEN = 'fault-flag-token-123456';
const SECRET_KEY = randomBytes(32).toString('hex');

export type ServiceName = 'gateway' | 'partner-registry' | 'webhook-dispatcher' | 'rollback-orchestrator' | 'billing';

function serviceSettings(name: ServiceName): Record<string, string> {
  switch (name) {
    case 'partner-registry':
      return { SSRF_ALLOW: '127.0.0.1/32', ALLOW_HTTP_URLS: 'true' };
    case 'webhook-dispatcher':
      return {
        WEBHOOK_SECRET_KEY: SECRET_KEY,
        WEBHOOK_SSRF_ALLOWLIST: '127.0.0.0/8',
        WEBHOOK_POLL_MS: '50',
        // A killed replica's leases and unacked messages are taken over quickly.
        WEBHOOK_ACK_WAIT_MS: '3000',
        WEBHOOK_LEASE_EXTRA_MS: '2000',
        WEBHOOK_RETRY_DELAYS_MS: '500,1000,2000,4000',
      };
    case 'rollback-orchestrator':
      return { ROLLBACK_SECRETS_KEY: SECRET_KEY, OUTBOUND_ALLOWLIST: '127.0.0.1/32' };
    case 'gateway':
      return { RATE_LIMIT_ENABLED: 'false' };
    case 'billing':
      // Metering only: the monthly invoice job does not run during a fault test.
      return { INVOICE_JOB_INTERVAL_MS: '0' };
  }
}

export interface Receipt {
  webhookId: string;
  eventId: string;
  type: string;
  at: number;
}

/** A loopback webhook receiver that answers 204 and keeps every receipt (a repeat is the same `webhook-id`). */
async function startWebhookReceiver() {
  const receipts: Receipt[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      let body: { id?: string; type?: string } = {};
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        /* counted with an empty event id */
      }
      receipts.push({ webhookId: String(req.headers['webhook-id'] ?? ''), eventId: body.id ?? '', type: body.type ?? '', at: Date.now() });
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    receipts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface HttpReply {
  status: number;
  headers: Headers;
  /** The parsed JSON, or the text where it is not JSON (undefined when empty): read it with `at`. */
  body: unknown;
}

/** A new API key as the API answers its creation: the key is shown once. */
export interface CreatedKey {
  id: string;
  key: string;
}

/** One projection of a service as `ops.projections` reports it. */
export interface ProjectionLag {
  name: string;
  /** The subject filter it reads. */
  filter?: string;
  checkpoint: number;
  lag: number;
  behind?: number;
}

export interface Stack {
  names: TestNames;
  gatewayUrl: string;
  adminKey: string;
  pgTemplate: string;
  procs: Map<ServiceName, ServiceProcess>;
  /** Every process ever started, restarts included (to check that none exited unasked). */
  started: ServiceProcess[];
  healthUrl(name: ServiceName): string;
  receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
  flagPartner: ReferencePartner;
  /** The test's own connection to the stream (it reconnects by itself). */
  bus: EventBus;
  call(token: string, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpReply>;
  /** `call`, for a request that must succeed: its body, as the caller reads it (by default a created resource). */
  must<T = Created>(token: string, method: string, path: string, body?: unknown): Promise<T>;
  /** Kills a service with SIGKILL, starts it again and waits until it is ready. */
  killAndRestart(name: ServiceName): Promise<void>;
  /** `ops.projections` of a service: each projection's checkpoint and lag. */
  projections(name: ServiceName): Promise<ProjectionLag[]>;
  /** Waits (bounded) until a service's /readyz answers 503 and returns the reason it gives. */
  notReady(name: ServiceName, timeoutMs?: number): Promise<string>;
  /** Services that exited although the test did not stop them. */
  exitedUnasked(): string[];
  stop(): Promise<void>;
}

export async function startStack(opts: {
  label: string;
  natsUrl: string;
  pgTemplate: string;
  services: ServiceName[];
  env?: Record<string, string>;
}): Promise<Stack> {
  const names = testNames(opts.label);
  const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const receiver = await startWebhookReceiver();
  const flagPartner = await startReferencePartner({ token: FLAG_TOKEN });
  const bus = await connectBus({ url: opts.natsUrl, name: `fault-${names.id}`, stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  const procs = new Map<ServiceName, ServiceProcess>();
  const started: ServiceProcess[] = [];
  const stopping = new Set<ServiceProcess>();
  const ports = new Map<ServiceName, number>();
  for (const s of opts.services) ports.set(s, await freePort());
  const gatewayPort = ports.get('gateway') as number;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const envOf = (s: ServiceName) =>
    serviceEnv(names, {
      NATS_URL: opts.natsUrl,
      DATABASE_URL_TEMPLATE: opts.pgTemplate,
      STREAM_MAX_AGE_HOURS: '2',
      ...serviceSettings(s),
      ...(s === 'gateway'
        ? { GATEWAY_PORT: String(gatewayPort), PLATFORM_ADMIN_API_KEY: adminKey }
        : { HEALTH_PORT: String(ports.get(s)) }),
      ...opts.env,
    });
  const healthUrl = (s: ServiceName) => `http://127.0.0.1:${ports.get(s)}`;
  const launch = async (s: ServiceName) => {
    const p = spawnService(s, envOf(s));
    procs.set(s, p);
    started.push(p);
    await waitReady(`${healthUrl(s)}/readyz`, p, 90_000);
  };
  // Back-end services first (the gateway's forwarded routes need them), then the gateway.
  await Promise.all(opts.services.filter((s) => s !== 'gateway').map(launch));
  if (opts.services.includes('gateway')) await launch('gateway');

  const rpcNc: NatsConnection = await connect({ servers: opts.natsUrl.split(','), maxReconnectAttempts: -1, reconnectTimeWait: 250 });

  const call = async (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, headers: res.headers, body: bodyOf(await res.text()) };
  };
  const stack: Stack = {
    names,
    gatewayUrl,
    adminKey,
    pgTemplate: opts.pgTemplate,
    procs,
    started,
    healthUrl,
    receiver,
    flagPartner,
    bus,
    call,
    async must<T = Created>(token: string, method: string, path: string, body?: unknown): Promise<T> {
      const r = await call(token, method, path, body);
      if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as T;
    },
    async killAndRestart(s) {
      const p = procs.get(s);
      if (!p) throw new Error(`${s} is not part of this stack`);
      stopping.add(p);
      p.child.kill('SIGKILL');
      await p.exited;
      await launch(s);
    },
    async projections(s) {
      const data = {
        principal: { kind: 'admin', scopes: ['admin'], credential_id: 'cred_fault_test' },
        params: {},
        query: {},
        request_id: randomUUID(),
      };
      const pattern = 'ops.projections';
      const msg = await rpcNc.request(`${names.RPC_PREFIX}.${s}.${pattern}`, JSON.stringify({ id: randomUUID(), pattern, data }), {
        timeout: 5000,
      });
      type Reply = { response: { ok: boolean; body?: { data: ProjectionLag[] }; problem?: unknown } };
      const reply = (JSON.parse(new TextDecoder().decode(msg.data)) as Reply).response;
      if (!reply.ok || !reply.body) throw new Error(`ops.projections of ${s}: ${JSON.stringify(reply.problem)}`);
      return reply.body.data;
    },
    async notReady(s, timeoutMs = 10_000) {
      return waitUntil(
        async () => {
          const r = await fetch(`${healthUrl(s)}/readyz`, { signal: AbortSignal.timeout(2000) });
          if (r.status !== 503) return undefined;
          const body = (await r.json()) as { checks?: Record<string, string> };
          const failing = Object.entries(body.checks ?? {}).filter(([, v]) => v !== 'ok');
          return `${s} /readyz 503 (${failing.map(([k, v]) => `${k}: ${v}`).join('; ')})`;
        },
        { timeoutMs, intervalMs: 100, what: `${s} to report not ready` },
      );
    },
    exitedUnasked() {
      return started
        .filter((p) => !stopping.has(p) && (p.child.exitCode !== null || p.child.signalCode !== null))
        .map((p) => `${p.name} (exit ${p.child.exitCode ?? p.child.signalCode}):\n${p.output().slice(-2000)}`);
    },
    async stop() {
      for (const p of procs.values()) stopping.add(p);
      await Promise.all([...procs.values()].map((p) => p.stop('SIGTERM', 10_000)));
      // FAULT_LOG_DIR=<dir> keeps every service process's output (the last 100-200 kB of each), for diagnosis.
      const logDir = process.env.FAULT_LOG_DIR;
      if (logDir) {
        mkdirSync(logDir, { recursive: true });
        for (const [i, p] of started.entries()) writeFileSync(join(logDir, `${opts.label}-${i}-${p.name}.log`), p.output());
      }
      await rpcNc.close().catch(() => undefined);
      await closeBus(bus).catch(() => undefined);
      await receiver.close();
      await flagPartner.close();
    },
  };
  return stack;
}

/** A partner with an admin-scoped API key and a webhook endpoint on the stack's receiver subscribed to `lead.*`. */
export async function setUpPartner(stack: Stack) {
  const { must, call, adminKey } = stack;
  const p = await must(adminKey, 'POST', '/v1/partners', { name: 'Acme', type: 'technology', contact_email: 'ops@acme.example.com' });
  await must(adminKey, 'POST', `/v1/partners/${p.id}/activate`, {});
  const k = await must<CreatedKey>(adminKey, 'POST', `/v1/partners/${p.id}/api-keys`, { name: 'main', scopes: ['admin'] });
  await waitUntil(async () => (await call(k.key, 'GET', `/v1/partners/${p.id}`)).status === 200 || undefined, {
    what: "the gateway's identity fold to know the new key",
  });
  const endpoint = await must(k.key, 'POST', '/v1/webhook-endpoints', { url: stack.receiver.url, event_types: ['lead.*'] });
  return { id: p.id, key: k.key, keyId: k.id, endpointId: endpoint.id };
}

/** A rollback policy with one flag at the reference partner, for `fireIncident`. */
export async function setUpRollback(stack: Stack, partner: { key: string }, customerId: string) {
  await stack.must(partner.key, 'POST', '/v1/rollback/policies', {
    customer_id: customerId,
    name: 'checkout',
    mode: 'auto',
    providers: [{ id: 'acme', kind: 'partner_webhook', base_url: stack.flagPartner.url, token: FLAG_TOKEN }],
    journeys: [{ funnel: 'checkout', flags: [{ provider_id: 'acme', flag_key: 'new-pay' }] }],
  });
}

export function incidentBody(incidentId: string, customerId: string) {
  return {
    incident_id: incidentId,
    customer_id: customerId,
    journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.example.com/checkout/pay' },
    severity: 'critical',
    detected_at: new Date().toISOString(),
    suspects: { pull_requests: [], flags: ['new-pay'] },
  };
}

export * from './load.ts';
export * from './oracle.ts';

/** Waits until every projection of every given service has no lag; resolves with how long that took. */
export async function waitCaughtUp(stack: Stack, services: ServiceName[], timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = '';
  await waitUntil(
    async () => {
      const all = await Promise.all(services.map(async (s) => ({ s, p: await stack.projections(s) })));
      const behind = all.flatMap(({ s, p }) => p.filter((x) => x.lag !== 0).map((x) => `${s}/${x.name} lag ${x.lag} at ${x.checkpoint}`));
      last = behind.join(', ');
      return behind.length === 0 || undefined;
    },
    { timeoutMs, intervalMs: 200, what: 'every projection to catch up' },
  ).catch((err) => {
    throw new Error(`${(err as Error).message} (behind: ${last})`);
  });
  return Date.now() - t0;
}

/**
 * The dispatcher's read model of one endpoint's deliveries: how many rows, how many succeeded, and how many were
 * recorded as succeeded more than once (sent again after the dispatcher knew they were delivered).
 */
export async function deliveryRows(stack: Stack, endpointId: string): Promise<{ rows: number; succeeded: number; twice: number }> {
  const db = createDb<Record<string, never>>(stack.pgTemplate.replace('{db}', `${stack.names.DB_PREFIX}webhook_dispatcher`), { max: 1 });
  try {
    const r = await sql<{ rows: number; succeeded: number; twice: number }>`select
        (select count(*)::int from webhook_deliveries where endpoint_id = ${endpointId}) as rows,
        (select count(*)::int from webhook_deliveries where endpoint_id = ${endpointId} and status = 'succeeded') as succeeded,
        (select count(*)::int from (select a.delivery_id from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id
          where d.endpoint_id = ${endpointId} and a.outcome = 'succeeded' group by a.delivery_id having count(*) > 1) x) as twice`.execute(
      db,
    );
    return r.rows[0] ?? { rows: 0, succeeded: 0, twice: 0 };
  } finally {
    await db.destroy();
  }
}

/** Business event families billing's built-in `events_ingested` meter counts (contracts/billing/meters.ts). */
const INGESTED_FAMILIES = new Set(['lead', 'policy', 'claim', 'user', 'integration', 'billing']);

/**
 * Billing's metered usage of one partner against an independent fold of the stream: the partner's external
 * business events (`<prefix>.ext.…`, one of the metered families) counted from the stream, and the sum of
 * billing's `events_ingested` hourly cells for that partner in its own database.
 */
export async function billingUsageVsFold(
  stack: Stack,
  stream: { subject: string; event: StoredEvent }[],
  partnerId: string,
): Promise<{ metered: number; fold: number }> {
  const prefix = `${stack.names.SUBJECT_PREFIX}.ext.`;
  const fold = stream.filter(
    (m) => m.subject.startsWith(prefix) && m.event.partnerid === partnerId && INGESTED_FAMILIES.has(m.event.type.split('.')[0] ?? ''),
  ).length;
  const db = createDb<Record<string, never>>(stack.pgTemplate.replace('{db}', `${stack.names.DB_PREFIX}billing`), { max: 1 });
  try {
    const r = await sql<{ metered: number }>`select coalesce(sum(events), 0)::int as metered from usage_hourly
      where partner_id = ${partnerId} and meter = 'events_ingested'`.execute(db);
    return { metered: r.rows[0]?.metered ?? 0, fold };
  } finally {
    await db.destroy();
  }
}
