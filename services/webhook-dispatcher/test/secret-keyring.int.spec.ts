import { randomBytes } from 'node:crypto';
import { aggregateSubject, appendToAggregate, newEvent } from '@pep/events';
import { createTestBus, type TestNames, testNames, waitUntil, startReceiver } from '@pep/testing';
import { decryptSecret, encryptSecret, parseKeyring, sealedKeyId } from '@pep/webhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, partner, publishBusiness, rpcClient, startDispatcherProcess } from './support/harness.ts';

// One record the dispatcher cannot read must not stop it: an endpoint whose secret was sealed under a key that
// is no longer configured (rotated away, or another checkout's key) is skipped and reported while every other
// endpoint keeps receiving; re-encryption (events through the aggregate) brings it back once its key is configured.
const GONE = randomBytes(32).toString('hex');
const NOW = randomBytes(32).toString('hex');
const NEXT = randomBytes(32).toString('hex');
const P = 'prt_keyring';

let names: TestNames;
let world: Awaited<ReturnType<typeof createTestBus>>;
let svc: Awaited<ReturnType<typeof startDispatcherProcess>> | undefined;
let rpc: Awaited<ReturnType<typeof rpcClient>>;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];

beforeAll(async () => {
  names = testNames('whk');
  world = await createTestBus(names, ['webhook-dispatcher']);
  rpc = await rpcClient(names);
});

afterAll(async () => {
  await rpc?.close();
  await svc?.proc.stop();
  for (const r of receivers) await r.close();
  await world?.cleanup();
});

/** What another checkout (or the day before a key rotation) left in the stream: an endpoint sealed under `gone`. */
async function endpointSealedUnderGoneKey(url: string) {
  const id = `wep_foreign${randomBytes(4).toString('hex')}`;
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const sealed = encryptSecret(secret, parseKeyring({ keys: `gone:${GONE}` }), id);
  await appendToAggregate(world.bus, aggregateSubject(names.SUBJECT_PREFIX, 'webhook_endpoint', id), 0, [
    newEvent({
      type: 'webhook_endpoint.created',
      source: 'another-checkout',
      time: new Date().toISOString(),
      partnerid: P,
      data: {
        endpoint_id: id,
        partner_id: P,
        url,
        description: 'sealed under a key this dispatcher does not have',
        event_types: ['lead.*'],
        rate_limit_per_s: null,
        timeout_ms: 2000,
        headers: {},
        secret_sealed: sealed,
      },
    }),
  ]);
  return { id, secret };
}

describe('endpoint secrets under a keyring', () => {
  it('skips and reports an endpoint whose key is gone while every other endpoint keeps receiving; re-encryption moves all to the current key', async () => {
    svc = await startDispatcherProcess(names, { WEBHOOK_SECRET_KEYS: `now:${NOW}`, WEBHOOK_SECRET_KEY: '' });
    const good = await startReceiver();
    const bad = await startReceiver();
    receivers.push(good, bad);
    const foreign = await endpointSealedUnderGoneKey(bad.url);
    bad.secrets.push(foreign.secret);
    const ep = (await rpc.ok('endpoints.create', partner(P), { body: { url: good.url, event_types: ['lead.*'] } })) as {
      id: string;
      secret: string;
    };
    good.secrets.push(ep.secret);

    const n = 20;
    for (let i = 0; i < n; i++) await publishBusiness(world.bus, P, 'lead.created', { i });
    await waitUntil(() => good.uniqueIds().size >= n || undefined, { timeoutMs: 30_000, what: `${n} deliveries to the readable endpoint` });
    expect(good.received.every((r) => r.verified)).toBe(true);
    expect(bad.received).toHaveLength(0);
    expect(await rpc.ok('deliveries.list', admin, { params: { id: foreign.id } }).then((b) => b.data)).toHaveLength(0);

    // Reported: in the API (the endpoint needs attention, naming the key), to operators, and in the metrics.
    const shown = await rpc.ok('endpoints.get', partner(P), { params: { id: foreign.id } });
    expect(shown.needs_attention).toEqual(expect.objectContaining({ reason: 'secret_unreadable', key_id: 'gone' }));
    expect((await rpc.ok('endpoints.get', partner(P), { params: { id: ep.id } })).needs_attention).toBeNull();
    const status = await rpc.ok('ops.secrets.status', admin);
    expect(status.unreadable).toEqual([expect.objectContaining({ endpoint_id: foreign.id, key_id: 'gone', which: 'secret' })]);
    const secretRead = await rpc.call('endpoints.secret', partner(P), { params: { id: foreign.id } });
    expect(secretRead.ok ? 200 : secretRead.problem.status).toBe(409);
    const metrics = await (await fetch(`${svc.healthUrl}/metrics`)).text();
    expect(metrics).toMatch(/webhook_endpoints_unreadable\{[^}]*\} 1/);
    expect(metrics).toMatch(/webhook_endpoint_secrets_unreadable_total\{[^}]*which="secret"[^}]*\} 1/);
    expect(metrics).toMatch(/projection_dead_letters_total\{[^}]*projection="webhook_endpoints"[^}]*\} 0/);

    // The service stays ready (one unreadable record is not an outage) and reports each projection on /readyz.
    const ready = (await (await fetch(`${svc.healthUrl}/readyz`)).json()) as { status: string; checks: Record<string, string> };
    expect(ready.status).toBe('ready');
    expect(ready.checks['projection:webhook_endpoints']).toBe('ok');
    const projections = await rpc.ok('ops.projections', admin);
    // Every projection of the dispatcher (endpoints, integration mappings) is ok; the endpoints one is listed.
    expect(projections.data).toContainEqual(expect.objectContaining({ name: 'webhook_endpoints', state: 'ok', open_dead_letters: 0 }));
    for (const p of projections.data as { state: string; open_dead_letters: number }[]) {
      expect(p).toMatchObject({ state: 'ok', open_dead_letters: 0 });
    }
    const noLetter = await rpc.call('ops.dead-letters.retry', admin, { body: { id: 987654 } });
    expect(noLetter.ok ? 200 : noLetter.problem.status).toBe(404);
    const badId = await rpc.call('ops.dead-letters.discard', admin, { body: { id: 'x' } });
    expect(badId.ok ? 200 : badId.problem.status).toBe(422);

    // The lost key comes back beside a new current one: re-encrypt moves every secret to `next`, as events.
    await svc.proc.stop();
    svc = await startDispatcherProcess(names, { WEBHOOK_SECRET_KEYS: `next:${NEXT},now:${NOW},gone:${GONE}`, WEBHOOK_SECRET_KEY: '' });
    const report = await rpc.ok('ops.secrets.reencrypt', admin, { body: {} });
    expect(report.current_key).toBe('next');
    expect([...report.resealed].sort()).toEqual([ep.id, foreign.id].sort());
    expect(report.unreadable).toEqual([]);
    const again = await rpc.ok('ops.secrets.status', admin);
    expect(again.to_reseal).toEqual([]);
    expect(again.under_current_key).toBe(2);

    // Only `next` is needed now; the signing secrets did not change, and the quarantined endpoint receives again.
    await svc.proc.stop();
    svc = await startDispatcherProcess(names, { WEBHOOK_SECRET_KEYS: `next:${NEXT}`, WEBHOOK_SECRET_KEY: '' });
    const row = await rpc.ok('endpoints.secret', partner(P), { params: { id: foreign.id } });
    expect(row.secret).toBe(foreign.secret);
    await publishBusiness(world.bus, P, 'lead.created', { i: n });
    await waitUntil(() => (bad.received.length >= 1 && good.uniqueIds().size >= n + 1) || undefined, {
      timeoutMs: 30_000,
      what: 'a delivery to the re-sealed endpoint',
    });
    expect(bad.received.every((r) => r.verified)).toBe(true);
    expect((await rpc.ok('endpoints.get', partner(P), { params: { id: foreign.id } })).needs_attention).toBeNull();
    // The re-seal is in the stream (the source of truth), naming the key.
    const last = await world.bus.jsm.streams.getMessage(names.STREAM_NAME, {
      last_by_subj: aggregateSubject(names.SUBJECT_PREFIX, 'webhook_endpoint', foreign.id),
    });
    const resealed = JSON.parse(new TextDecoder().decode(last?.data)) as { type: string; data: { key_id: string; secret_sealed: string } };
    expect(resealed.type).toBe('webhook_endpoint.secret_resealed');
    expect(resealed.data.key_id).toBe('next');
    expect(sealedKeyId(resealed.data.secret_sealed)).toBe('next');
    expect(decryptSecret(resealed.data.secret_sealed, parseKeyring({ keys: `next:${NEXT}` }), foreign.id)).toBe(foreign.secret);
  });
});
