import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Partner } from '@pep/contracts';
import { freePort, NATS_URL, serviceEnv, spawnService, type TestNames, waitReady } from '@pep/testing';
import { expect } from 'vitest';

/** Starts the real gateway process in this test's isolated world (own stream, subjects, RPC prefix, database). */
export async function startGateway(names: TestNames, extra: Record<string, string> = {}) {
  const port = await freePort();
  const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const proc = spawnService(
    'gateway',
    serviceEnv(names, { GATEWAY_PORT: String(port), PLATFORM_ADMIN_API_KEY: adminKey, STREAM_MAX_AGE_HOURS: '2', ...extra }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/readyz`, proc);
  return { url, adminKey, proc, auth: { authorization: `Bearer ${adminKey}` } };
}

/** JSON calls to a gateway started later (in `beforeAll`): `gw()` is read at call time. */
export function apiClient(gw: () => { url: string; adminKey: string }) {
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${gw().url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };
  const admin = (method: string, path: string, body?: unknown) => call(method, path, gw().adminKey, body);
  /** A partner created and activated by the admin. */
  const activePartner = async (name: string): Promise<Partner> => {
    const p = await admin('POST', '/v1/partners', { name, type: 'technology', contact_email: 'ops@example.com' });
    expect(p.status).toBe(201);
    expect((await admin('POST', `/v1/partners/${p.body.id}/activate`, {})).status).toBe(200);
    return p.body;
  };
  return { call, admin, activePartner };
}

interface RpcPacket {
  id: string;
  pattern: string;
  data: Record<string, unknown>;
}

/**
 * A stand-in for an owning service: answers `<RPC_PREFIX>.<service>.<pattern>` the way @nestjs/microservices'
 * ServerNats does (`{ id, response, isDisposed }`), with a plain NATS connection.
 */
export async function startResponder(names: TestNames) {
  const nc: NatsConnection = await connect({ servers: NATS_URL });
  const subs: Subscription[] = [];
  const seen: { pattern: string; data: Record<string, unknown>; headers: Record<string, string> }[] = [];
  return {
    seen,
    /** Resolves once the NATS server knows the subscription, so the next request finds it. */
    async answer(service: string, pattern: string, fn: (data: Record<string, unknown>) => unknown | Promise<unknown>) {
      const subject = `${names.RPC_PREFIX}.${service}.${pattern}`;
      const sub = nc.subscribe(subject, {
        callback: (_err, msg) => {
          const packet = JSON.parse(new TextDecoder().decode(msg.data)) as RpcPacket;
          const headers: Record<string, string> = {};
          for (const [k, v] of msg.headers ?? []) headers[k.toLowerCase()] = v[0] ?? '';
          seen.push({ pattern, data: packet.data, headers });
          void Promise.resolve(fn(packet.data)).then((response) =>
            msg.respond(JSON.stringify({ id: packet.id, response, isDisposed: true })),
          );
        },
      });
      subs.push(sub);
      await nc.flush();
      return sub;
    },
    async close() {
      for (const s of subs) s.unsubscribe();
      await nc.drain();
    },
  };
}
