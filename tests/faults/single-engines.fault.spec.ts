// Issue 10, item 4: the mission flow on one nats-server and one PostgreSQL cluster of this test's own (nothing of
// the machine's is stopped), under three faults in turn on the same stack: the NATS server killed with SIGKILL
// and restarted, Postgres stopped with `-m immediate` and started again, and every service killed with SIGKILL
// in turn. Each scenario uses a partner of its own and prints what it injected and what it counted.
import { type NatsServer, natsServer, type PostgresCluster, postgresCluster, waitJetStream } from '@pep/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { missionUnderFault } from './support/mission.ts';
import { type ServiceName, type Stack, startStack } from './support/stack.ts';

const BACKENDS: ServiceName[] = ['partner-registry', 'webhook-dispatcher', 'rollback-orchestrator', 'billing'];
let nats: NatsServer;
let pg: PostgresCluster;
let stack: Stack;

beforeAll(async () => {
  [nats, pg] = await Promise.all([natsServer(), postgresCluster()]);
  stack = await startStack({ label: 'fault', natsUrl: nats.url, pgTemplate: pg.urlTemplate, services: [...BACKENDS, 'gateway'] });
});
afterAll(async () => {
  await stack?.stop();
  await nats?.destroy();
  await pg?.destroy();
});

describe('engines and services go away mid-load; nothing is lost or doubled', () => {
  it('NATS killed with SIGKILL and restarted: no acknowledged event lost, every projection caught up, no service exits', async () => {
    await missionUnderFault(stack, {
      scenario: 'nats-kill',
      backends: BACKENDS,
      events: 240,
      ratePerS: 40,
      catchUpWithinMs: 5000,
      inject: async () => {
        const pid = nats.pid();
        const downAt = Date.now();
        await nats.kill('SIGKILL');
        // While it is away, a service stays up and says on /readyz why it is not ready.
        const reason = await stack.notReady('partner-registry');
        await new Promise((r) => setTimeout(r, Math.max(0, downAt + 3000 - Date.now())));
        await nats.start();
        // From here on NATS accepts connections: catch-up is measured from this moment.
        const backAt = Date.now();
        await waitJetStream(nats.url);
        return {
          injected: `SIGKILL nats-server pid ${pid}; restarted on port ${nats.port}, same store, 3 s later; meanwhile ${reason}`,
          downAt,
          backAt,
        };
      },
    });
  });

  it('Postgres stopped with -m immediate and started again: the gateway keeps accepting and never refuses a connection', async () => {
    await missionUnderFault(stack, {
      scenario: 'pg-stop',
      backends: BACKENDS,
      events: 240,
      ratePerS: 40,
      catchUpWithinMs: 5000,
      acceptsDuringFault: true,
      neverRefused: true,
      inject: async () => {
        const pid = pg.pid();
        const downAt = Date.now();
        await pg.stop('immediate');
        const reason = await stack.notReady('webhook-dispatcher');
        await new Promise((r) => setTimeout(r, Math.max(0, downAt + 3000 - Date.now())));
        await pg.start();
        return {
          injected: `pg_ctl stop -m immediate (postmaster pid ${pid}); pg_ctl start 3 s later; meanwhile ${reason}`,
          downAt,
          backAt: Date.now(),
        };
      },
    });
  });

  it('every service killed with SIGKILL in turn, twice each, during one continuous load: nothing lost, nothing doubled, one invoice per partner and period', async () => {
    const order: ServiceName[] = [...BACKENDS, 'gateway', ...BACKENDS, 'gateway'];
    await missionUnderFault(stack, {
      scenario: 'svc-kill',
      backends: BACKENDS,
      events: 240,
      ratePerS: 15,
      acceptsDuringFault: true,
      gatewayRestarts: true,
      invoices: true,
      inject: async () => {
        const downAt = Date.now();
        const killed: string[] = [];
        for (const s of order) {
          const pid = stack.procs.get(s)?.child.pid;
          const t0 = Date.now();
          await stack.killAndRestart(s);
          killed.push(`${s} (pid ${pid} → ${stack.procs.get(s)?.child.pid}, ready again in ${Date.now() - t0} ms)`);
          console.log(`svc-kill: ${killed.at(-1)}`);
          await new Promise((r) => setTimeout(r, 500));
        }
        return { injected: `SIGKILL then restart, in turn: ${killed.join(', ')}`, downAt, backAt: Date.now() };
      },
    });
  }, 600_000); // ten restarts, each waiting for readiness: on a loaded 2-core machine one took 46 s
});
