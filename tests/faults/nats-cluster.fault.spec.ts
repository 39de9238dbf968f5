// Issue 10, item 4: a 3-node JetStream cluster on loopback (this test's own) with the stream at 3 replicas. The
// stream's leader is killed with SIGKILL mid-load; after the election the gateway keeps accepting events, no
// acknowledged event is lost, and every stored event reaches the subscribed endpoint under one webhook-id.
import { type NatsCluster, natsCluster, type PostgresCluster, postgresCluster, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countReceipts, foldStream, readStream, deliveryRows, type Stack, startLoad, startStack, summarize } from './support/stack.ts';

const PARTNER = 'prt_01kc0000000000000000000000';
let cluster: NatsCluster;
let pg: PostgresCluster;
let stack: Stack;

beforeAll(async () => {
  [cluster, pg] = await Promise.all([natsCluster(3), postgresCluster()]);
  stack = await startStack({
    label: 'fclu',
    natsUrl: cluster.url,
    pgTemplate: pg.urlTemplate,
    services: ['webhook-dispatcher', 'gateway'],
    env: { STREAM_REPLICAS: '3' },
  });
});
afterAll(async () => {
  await stack?.stop();
  await cluster?.destroy();
  await pg?.destroy();
});

const streamInfo = () => stack.bus.jsm.streams.info(stack.names.STREAM_NAME);

describe('a 3-node JetStream cluster loses the stream leader mid-load', () => {
  it('elects a new leader; the gateway keeps accepting and no acknowledged event is lost or delivered twice', async () => {
    const before = await streamInfo();
    expect(before.config.num_replicas).toBe(3);
    const endpoint = await stack.must(stack.adminKey, 'POST', '/v1/webhook-endpoints', {
      url: stack.receiver.url,
      event_types: ['lead.*'],
      partner_id: PARTNER,
    });

    let injectedAt = Number.POSITIVE_INFINITY;
    const load = startLoad(stack, {
      key: stack.adminKey,
      partnerId: PARTNER,
      ratePerS: 40,
      total: 240,
      until: () => Date.now() < injectedAt + 3000,
      label: 'cluster',
    });
    await waitUntil(() => load.acked.size >= 48 || undefined, { timeoutMs: 60_000, what: 'the load to get going' });

    const leader = (await streamInfo()).cluster?.leader;
    if (!leader) throw new Error('the stream has no leader');
    const node = cluster.node(leader);
    const pid = node.pid();
    const killedAt = Date.now();
    await node.kill('SIGKILL');
    const newLeader = await waitUntil(
      async () => {
        const l = (await streamInfo()).cluster?.leader;
        return l && l !== leader ? l : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'a new stream leader' },
    );
    const electedAt = Date.now();
    injectedAt = electedAt;
    await load.done;

    const stream = await readStream(stack.bus);
    const fold = foldStream(stream, PARTNER, load.prefix);
    const bySeq = new Map(stream.map((m) => [m.seq, m.event.id]));
    const lost = [...load.acked].filter(([id, { seq }]) => !fold.leads.has(id) || bySeq.get(seq) !== id).map(([id]) => id);
    const storedTwice = [...fold.leads].filter(([, seqs]) => seqs.length > 1).map(([id]) => id);
    await waitUntil(() => countReceipts(stack.receiver.receipts, load.prefix).byEvent.size >= fold.leads.size || undefined, {
      timeoutMs: 60_000,
      what: `${fold.leads.size} deliveries`,
    });
    const receipts = countReceipts(stack.receiver.receipts, load.prefix);
    // The dispatcher's read model equals the fold: one delivery per stored lead, each recorded as succeeded once.
    const rows = await waitUntil(
      async () => {
        const r = await deliveryRows(stack, endpoint.id);
        return r.succeeded >= fold.leads.size ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'every delivery recorded as succeeded' },
    );
    const twice = rows.twice;
    const ackedAfterElection = [...load.acked.values()].filter((a) => a.at > electedAt).length;
    const after = await streamInfo();
    console.log(
      JSON.stringify(
        {
          fault: {
            scenario: 'cluster-leader-kill',
            injected: `SIGKILL stream leader ${leader} (pid ${pid}) of a 3-node cluster, stream R${before.config.num_replicas}`,
            new_leader: newLeader,
            election_ms: electedAt - killedAt,
            load: summarize(load),
            acknowledged_after_election: ackedAfterElection,
            stream: {
              leads: fold.leads.size,
              stored_twice: storedTwice.length,
              last_seq: after.state.last_seq,
              replicas: after.cluster?.replicas?.length,
            },
            lost_acknowledged: lost.length,
            deliveries: {
              events_delivered: receipts.byEvent.size,
              doubled: receipts.doubled.length,
              repeats_same_webhook_id: receipts.repeats,
              recorded_succeeded_twice: twice,
              delivery_rows: rows.rows,
            },
            services_exited: stack.exitedUnasked().length,
          },
        },
        null,
        1,
      ),
    );
    expect(load.abandoned, 'events never acknowledged within their retry budget').toEqual([]);
    expect(ackedAfterElection, 'events acknowledged after the election').toBeGreaterThan(0);
    expect(lost, 'acknowledged events missing from the stream').toEqual([]);
    expect(storedTwice, 'events stored twice').toEqual([]);
    expect(fold.leads.size).toBe(load.acked.size);
    expect(
      [...fold.leads.keys()].filter((id) => !receipts.byEvent.has(id)),
      'stored events never delivered',
    ).toEqual([]);
    expect(receipts.doubled, 'events delivered under two webhook-ids').toEqual([]);
    expect(twice, 'deliveries sent again after they were recorded as succeeded').toBe(0);
    expect(rows.rows, "the dispatcher's deliveries of this endpoint").toBe(fold.leads.size);
    expect(summarize(load).status_503_without_retry_after, '503s without Retry-After').toBe(0);
    expect(stack.exitedUnasked(), 'service processes that exited').toEqual([]);
  });
});
