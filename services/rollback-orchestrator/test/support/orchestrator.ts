import { randomBytes } from 'node:crypto';
import type { Principal, RpcReply } from '@pep/contracts';
import { createTestBus, freePort, serviceEnv, spawnService, type TestNames, waitReady } from '@pep/testing';
import { rpcCall } from '@pep/service';

export const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'key_admin' };
export const partnerPrincipal = (partnerId: string): Principal => ({
  kind: 'partner',
  partner_id: partnerId,
  scopes: ['write:incidents', 'read:incidents', 'write:rollback', 'read:rollback'],
  credential_id: `key_${partnerId}`,
});

export const SECRETS_KEY = randomBytes(32).toString('hex');

/** Starts the orchestrator as its own process against this test's stream and databases, and an RPC caller. */
export async function startOrchestrator(
  names: TestNames,
  env: Record<string, string> = {},
  services: string[] = ['rollback-orchestrator'],
) {
  const t = await createTestBus(names, services);
  const healthPort = await freePort();
  const start = async () => {
    const proc = spawnService(
      'rollback-orchestrator',
      serviceEnv(names, {
        HEALTH_PORT: String(healthPort),
        ROLLBACK_SECRETS_KEY: SECRETS_KEY,
        OUTBOUND_ALLOWLIST: '127.0.0.1/32,::1',
        FLAG_WEBHOOK_TIMEOUT_MS: '1000',
        ...env,
      }),
    );
    await waitReady(`http://127.0.0.1:${healthPort}/readyz`, proc);
    return proc;
  };
  let proc = await start();
  const call = (
    pattern: string,
    principal: Principal,
    req: { body?: unknown; params?: Record<string, string>; query?: Record<string, unknown> } = {},
  ) => rpcCall(t.bus.nc, `${names.RPC_PREFIX}.rollback-orchestrator.${pattern}`, { principal, ...req }, 5000);
  const ok = async <T = unknown>(...args: Parameters<typeof call>): Promise<T> => {
    const r = await call(...args);
    if (!r.ok) throw new Error(`${args[0]} failed: ${JSON.stringify(r.problem)}`);
    return r.body as T;
  };
  return {
    bus: t.bus,
    call,
    ok,
    get proc() {
      return proc;
    },
    async restart(beforeStart?: () => Promise<void>, signal: NodeJS.Signals = 'SIGTERM') {
      await proc.stop(signal);
      await beforeStart?.();
      proc = await start();
    },
    async stop() {
      await proc.stop();
      await t.cleanup();
    },
  };
}

export const statusOf = (r: RpcReply) => (r.ok ? r.status : r.problem.status);

export function incidentBody(id: string, customerId: string, over: Record<string, unknown> = {}) {
  return {
    incident_id: id,
    customer_id: customerId,
    journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.example.com/checkout/pay' },
    severity: 'critical',
    detected_at: new Date().toISOString(),
    evidence: { screenshot_url: 'https://pathcanary.example.com/shots/1.png', error: 'Pay button does nothing' },
    ...over,
  };
}
