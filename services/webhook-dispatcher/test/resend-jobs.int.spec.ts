import { createTestBus, type TestNames, testNames, waitUntil, startReceiver } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partner, publishBusiness, rpcClient, startDispatcherProcess } from './support/harness.ts';

// Resend jobs count what they really did, and leave a queued delivery on its schedule. One real dispatcher
// process whose retry comes 60 s after a failed first attempt, so a failed delivery stays pending meanwhile.
let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let svc: Awaited<ReturnType<typeof startDispatcherProcess>>;
let rpc: Awaited<ReturnType<typeof rpcClient>>;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
const P = 'prt_resend';

type Delivery = { id: string; status: string; attempts: number; next_attempt_at: string | null };
type Job = { id: string; status: string; processed: number; deliveries_created: number; deliveries_reused: number };

const deliveriesOf = async (endpointId: string) =>
  (await rpc.ok('deliveries.list', partner(P), { params: { id: endpointId }, query: { limit: 100 } })).data as Delivery[];
const waitJob = (id: string) =>
  waitUntil(
    async () => {
      const j = (await rpc.ok('jobs.get', partner(P), { params: { id } })) as Job;
      return j.status === 'completed' || j.status === 'failed' ? j : undefined;
    },
    { what: `job ${id}` },
  );

async function endpointWith(status: number) {
  const r = await startReceiver();
  receivers.push(r);
  r.setRespond((_x, res) => {
    res.statusCode = status;
    res.end();
  });
  const ep = (await rpc.ok('endpoints.create', partner(P), { body: { url: r.url, event_types: ['lead.*'] } })) as { id: string };
  return { r, ep };
}

beforeAll(async () => {
  names = testNames('resend');
  world = await createTestBus(names, ['webhook-dispatcher']);
  svc = await startDispatcherProcess(names, { WEBHOOK_RETRY_DELAYS_MS: '60000', WEBHOOK_BREAKER_MIN_REQUESTS: '1000' });
  rpc = await rpcClient(names);
});
afterAll(async () => {
  await rpc?.close();
  await svc?.proc.stop();
  for (const r of receivers) await r.close();
  await world?.cleanup();
});

describe('resend', () => {
  it('leaves a pending delivery on its retry schedule and reports it reused, not created', async () => {
    const { r, ep } = await endpointWith(503);
    await publishBusiness(world.bus, P, 'lead.created');
    const pending = await waitUntil(
      async () => (await deliveriesOf(ep.id)).find((d) => d.status === 'pending' && d.attempts === 1 && d.next_attempt_at),
      { what: 'a delivery waiting for its retry' },
    );
    expect(Date.parse(pending.next_attempt_at as string)).toBeGreaterThan(Date.now() + 30_000);

    const job = (await rpc.ok('deliveries.resend', partner(P), { params: { id: pending.id } })) as Job;
    const done = await waitJob(job.id);
    expect(done).toMatchObject({ status: 'completed', processed: 1, deliveries_created: 0, deliveries_reused: 1 });

    const after = (await deliveriesOf(ep.id)).find((d) => d.id === pending.id);
    expect(after).toMatchObject({ status: 'pending', attempts: 1, next_attempt_at: pending.next_attempt_at });
    expect(r.received).toHaveLength(1);
  });

  it('sends a finished delivery once more with the same webhook-id, reusing it', async () => {
    const { r, ep } = await endpointWith(200);
    await publishBusiness(world.bus, P, 'lead.updated');
    const sent = await waitUntil(async () => (await deliveriesOf(ep.id)).find((d) => d.status === 'succeeded'), {
      what: 'the first delivery',
    });

    const job = (await rpc.ok('deliveries.resend', partner(P), { params: { id: sent.id } })) as Job;
    const done = await waitJob(job.id);
    expect(done).toMatchObject({ status: 'completed', deliveries_created: 0, deliveries_reused: 1 });
    await waitUntil(() => (r.received.length === 2 ? true : undefined), { what: 'the resent delivery' });
    expect(r.received.map((x) => x.id)).toEqual([sent.id, sent.id]);
    const resent = await waitUntil(async () => (await deliveriesOf(ep.id)).find((d) => d.status === 'succeeded' && d.attempts === 2), {
      what: 'the resent delivery recorded',
    });
    expect(resent.id).toBe(sent.id);
    expect(await deliveriesOf(ep.id)).toHaveLength(1);
  });
});
