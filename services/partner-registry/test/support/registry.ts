import type { Principal, RpcReply, RpcRequest } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest } from '@pep/db';
import { pgDeadLetters, type ProjectionRunner, startProjection } from '@pep/events';
import { baseConfigSchema, createLogger } from '@pep/runtime';
import { createTestBus, dbUrl, type TestNames } from '@pep/testing';
import { type RegistryConfig, registryConfigSchema } from '../../src/config.ts';
import { registryMigrations } from '../../src/db/migrations/index.ts';
import type { RegistryDB } from '../../src/db/schema.ts';
import { createRegistryRuntime, registryProjections, SERVICE_NAME } from '../../src/service.ts';

export const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'key_admin' };
export const partnerPrincipal = (partnerId: string): Principal => ({
  kind: 'partner',
  partner_id: partnerId,
  scopes: ['read:*', 'write:*'],
  credential_id: `key_${partnerId}`,
});

/**
 * The registry's handlers, projections and command bus wired in-process against this test's own stream
 * and database (real NATS, real Postgres), without the RPC transport.
 */
export async function startRegistry(names: TestNames, extraEnv: Record<string, string> = {}, opts: { background?: boolean } = {}) {
  const t = await createTestBus(names, [SERVICE_NAME]);
  const url = dbUrl(names, SERVICE_NAME);
  await ensureDatabase(url);
  const db = createDb<RegistryDB>(url);
  await migrateToLatest(db, registryMigrations);
  const logger = createLogger(SERVICE_NAME, 'silent');
  const config = baseConfigSchema.extend(registryConfigSchema.shape).parse({ ...names, NODE_ENV: 'test', ...extraEnv }) as RegistryConfig;
  const projections = new Map<string, ProjectionRunner>();
  for (const p of registryProjections(names.SUBJECT_PREFIX)) {
    projections.set(p.name, await startProjection({ bus: t.bus, db, projection: p, deadLetters: pgDeadLetters(db), logger }));
  }
  const runtime = createRegistryRuntime({ bus: t.bus, db, config, logger, projections, deadLetters: pgDeadLetters(db) });
  const { commands, handlers } = runtime;
  const stopBackground = opts.background ? await runtime.startBackground() : async () => undefined;
  let n = 0;
  const call = async (
    pattern: string,
    principal: Principal,
    req: { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown } = {},
  ): Promise<RpcReply> => {
    const fn = handlers[pattern];
    if (!fn) throw new Error(`no handler ${pattern}`);
    const r: RpcRequest = { principal, params: req.params ?? {}, query: req.query ?? {}, body: req.body, request_id: `req_${++n}` };
    return fn(r);
  };
  /** Calls and expects success; returns the body. */
  const ok = async <T = Record<string, unknown>>(...args: Parameters<typeof call>): Promise<T> => {
    const r = await call(...args);
    if (!r.ok) throw new Error(`${args[0]} failed: ${JSON.stringify(r.problem)}`);
    return r.body as T;
  };
  return {
    bus: t.bus,
    db,
    commands,
    projections,
    handlers,
    call,
    ok,
    config,
    runtime,
    async stop() {
      await stopBackground();
      for (const r of projections.values()) await r.stop();
      await db.destroy();
      await t.cleanup();
    },
  };
}
export type Registry = Awaited<ReturnType<typeof startRegistry>>;

/** The status of a failed reply (or 0 when it succeeded). */
export const statusOf = (r: RpcReply) => (r.ok ? r.status : r.problem.status);
