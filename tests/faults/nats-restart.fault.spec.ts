// Issue 10, item 4: the NATS server is killed with SIGKILL mid-load and restarted on the same port and store.
// The stack runs on a nats-server and a PostgreSQL cluster of this test's own; nothing of the machine's is stopped.
import { type NatsServer, natsServer, type PostgresCluster, postgresCluster, waitJetStream } from '@pep/testing';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { missionUnderFault } from './support/mission.ts';
import { type ServiceName, type Stack, startStack } from './support/stack.ts';

const BACKENDS: ServiceName[] = ['partner-registry', 'webhook-dispatcher', 'rollback-orchestrator'];
let nats: NatsServer;
let pg: PostgresCluster;
let stack: Stack;

beforeAll(async () => {
  [nats, pg] = await Promise.all([natsServer(), postgresCluster()]);
  stack = await startStack({ label: 'fnats', natsUrl: nats.url, pgTemplate: pg.urlTemplate, services: [...BACKENDS, 'gateway'] });
});
afterAll(async () => {
  await stack?.stop();
  await nats?.destroy();
  await pg?.destroy();
});

describe('NATS killed with SIGKILL mid-load and restarted', () => {
  it('loses no acknowledged event, doubles no delivery, catches every projection up, and no service exits', async () => {
    await missionUnderFault(stack, {
      scenario: 'nats-kill',
      backends: BACKENDS,
      events: 300,
      ratePerS: 40,
      inject: async () => {
        const downAt = Date.now();
        await nats.kill('SIGKILL');
        await new Promise((r) => setTimeout(r, 3000));
        await nats.start();
        await waitJetStream(nats.url);
        return {
          injected: `SIGKILL nats-server (pid gone), restarted on port ${nats.port} with the same store after 3 s`,
          downAt,
          backAt: Date.now(),
        };
      },
    });
  });
});
