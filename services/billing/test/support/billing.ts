import type { Principal, RpcReply } from '@pep/contracts';
import { createDb } from '@pep/db';
import {
  createTestBus,
  dbUrl,
  freePort,
  partnerPrincipal as sharedPartnerPrincipal,
  serviceEnv,
  serviceRpc,
  spawnService,
  type TestNames,
  waitReady,
  waitUntil,
} from '@pep/testing';
import type { BillingDB } from '../../src/db/schema.ts';
import { startStripeFor } from './stripe.ts';
import { SERVICE_NAME } from '../../src/service.ts';

export { admin, envelope } from '@pep/testing';
/** A partner's key that reads its own billing (the scope billing's routes ask for). */
export const partnerPrincipal = (partnerId: string): Principal => sharedPartnerPrincipal(partnerId, ['read:billing']);

export const statusOf = (r: RpcReply) => (r.ok ? r.status : r.problem.status);

/** Starts billing as its own process against this test's stream and database, with an RPC caller and its database. */
export async function startBillingProcess(names: TestNames, env: Record<string, string> = {}, opts: { stripe?: boolean } = {}) {
  const t = await createTestBus(names, [SERVICE_NAME]);
  const db = createDb<BillingDB>(dbUrl(names, SERVICE_NAME), { max: 2 });
  // With `stripe`, a fake Stripe whose webhooks reach the service as the gateway forwards a raw route (without it,
  // serviceEnv's placeholder keys point at a closed port: finalized invoices stay open, collection retries).
  const stripe = opts.stripe ? await startStripeFor(t.bus.nc, names) : undefined;
  const start = async () => {
    const healthPort = await freePort();
    const proc = spawnService(SERVICE_NAME, serviceEnv(names, { HEALTH_PORT: String(healthPort), ...stripe?.env, ...env }));
    await waitReady(`http://127.0.0.1:${healthPort}/readyz`, proc);
    return proc;
  };
  let proc = await start();
  const { call, ok } = serviceRpc(t.bus.nc, names, SERVICE_NAME, 10_000);
  const checkpoint = async (name: string) =>
    (
      await db
        .selectFrom('projection_checkpoints')
        .select('seq')
        .where('name', '=', name)
        .executeTakeFirst()
        // Before the service's first migration there is no checkpoint table: nothing applied yet.
        .catch((err: unknown) => {
          if ((err as { code?: string }).code === '42P01') return undefined;
          throw err;
        })
    )?.seq ?? 0;
  const streamLastSeq = async () => (await t.bus.jsm.streams.info(t.bus.stream)).state.last_seq;
  return {
    bus: t.bus,
    db,
    stripe,
    call,
    ok,
    checkpoint,
    get proc() {
      return proc;
    },
    /** Waits until a projection has applied everything in the stream on its filter (default: every subject). */
    async caughtUp(name: string, filter?: string, timeoutMs = 60_000) {
      const last = filter
        ? ((await t.bus.jsm.streams.getMessage(t.bus.stream, { last_by_subj: filter }).catch(() => null))?.seq ?? 0)
        : await streamLastSeq();
      await waitUntil(async () => (await checkpoint(name)) >= last, { timeoutMs, intervalMs: 50, what: `${name} to reach ${last}` });
    },
    async restart() {
      proc = await start();
    },
    /** Another replica of the service on the same stream and database. */
    replica: start,
    async stop() {
      await proc.stop();
      await stripe?.close();
      await db.destroy();
      await t.cleanup();
    },
  };
}

/** The stream oracle every service's tests fold. */
export { readAll } from '@pep/testing';
