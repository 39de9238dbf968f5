import type { PlatformEvent, Principal } from '@pep/contracts';
import { ApiUsageRolledUp } from '@pep/contracts';
import { createLogger } from '@pep/runtime';
import { describe, expect, it } from 'vitest';
import { createApiUsageRollup, replicaId, rollupId } from '../src/usage/api-usage-rollup.ts';

const T0 = Date.parse('2026-10-05T10:00:30Z'); // the process starts 30 s into a minute
const A = 'prt_rollupa000000000000000000';
const B = 'prt_rollupb000000000000000000';
const key = (partner: string, id: string): Principal => ({ kind: 'partner', partner_id: partner, scopes: ['admin'], credential_id: id });
const logger = createLogger('test', 'error');

function harness(fail: () => boolean = () => false) {
  let clock = T0;
  const appended = new Map<string, PlatformEvent>();
  const attempts: string[] = [];
  const rollup = createApiUsageRollup({
    reporter: 'gw1',
    logger,
    timer: false,
    now: () => clock,
    publish: async (event) => {
      attempts.push(event.id);
      if (fail()) throw new Error('broker away');
      if (!appended.has(event.id)) appended.set(event.id, event); // the stream's dedupe by id
    },
  });
  return { rollup, appended, attempts, tick: (ms: number) => (clock += ms), now: () => clock };
}

describe('api usage rollup (gateway)', () => {
  it('appends one valid rollup per partner and minute, with status and credential splits', async () => {
    const h = harness();
    h.rollup.record(key(A, 'key_1'), 200, 3);
    h.rollup.record(key(A, 'key_1'), 404, 7);
    h.rollup.record(key(A, 'key_2'), 503, 40);
    h.rollup.record({ kind: 'oauth', partner_id: B, scopes: [], credential_id: 'oac_9' }, 201, 12);
    h.rollup.record({ kind: 'admin', scopes: ['admin'], credential_id: 'adm' }, 200, 1); // not a partner
    h.rollup.record(undefined, 401, 1); // no principal
    await h.rollup.flush();
    expect(h.appended.size).toBe(0); // the minute is not over
    h.tick(30_000);
    h.rollup.record(key(A, 'key_1'), 200, 2); // the next minute (10:01)
    await h.rollup.flush();
    const first = h.appended.get(rollupId(A, Date.parse('2026-10-05T10:00:00Z'), 'gw1-s30'));
    expect(first?.id).toBe(`apiu_${A}_202610051000_gw1-s30`);
    expect(first?.data).toEqual({
      partner_id: A,
      minute: '2026-10-05T10:00:00.000Z',
      reporter: 'gw1-s30',
      requests: 3,
      by_status: { '2xx': 1, '4xx': 1, '5xx': 1 },
      by_credential: { key_1: { requests: 2, errors: 1, latency_ms_p95: 10 }, key_2: { requests: 1, errors: 1, latency_ms_p95: 50 } },
    });
    expect(ApiUsageRolledUp.data.safeParse(first?.data).success).toBe(true);
    expect(first?.partnerid).toBe(A);
    expect(first?.time).toBe('2026-10-05T10:00:00.000Z');
    expect(h.appended.size).toBe(2); // A and B for 10:00; 10:01 is still open
    await h.rollup.stop(); // SIGTERM: the open minute too, under the plain replica id
    expect(h.appended.get(`apiu_${A}_202610051001_gw1`)?.data).toMatchObject({ requests: 1, reporter: 'gw1' });
  });

  it('keeps a minute whose append failed and sends it again with the same id (no double count)', async () => {
    let down = true;
    const h = harness(() => down);
    h.rollup.record(key(A, 'key_1'), 200, 1);
    h.rollup.record(key(B, 'key_b'), 200, 1);
    h.tick(60_000);
    await h.rollup.flush();
    expect(h.appended.size).toBe(0);
    expect(h.rollup.pendingCount()).toBe(2);
    down = false;
    h.rollup.record(key(A, 'key_1'), 200, 1); // 10:01, open
    await h.rollup.flush();
    await h.rollup.flush(); // a re-flush sends nothing new
    expect(h.appended.size).toBe(2);
    expect(h.appended.get(`apiu_${A}_202610051000_gw1-s30`)?.data).toMatchObject({ requests: 1 });
    const ids = h.attempts.filter((id) => id.startsWith(`apiu_${A}_202610051000`));
    expect(ids).toEqual([ids[0], ids[0]]); // the retry carried the same id
    expect(h.rollup.pendingCount()).toBe(1);
  });

  it('at shutdown tries again before giving up, and appends the open minute', async () => {
    let failures = 1;
    const h = harness(() => failures-- > 0);
    h.rollup.record(key(A, 'key_1'), 200, 1);
    await h.rollup.stop(3, 1);
    expect([...h.appended.keys()]).toEqual([`apiu_${A}_202610051000_gw1-s30`]);
    expect(h.attempts).toHaveLength(2);
  });

  it('derives a stable, subject-safe replica id', () => {
    expect(replicaId('gw-2')).toBe('gw-2');
    expect(replicaId(undefined, 'ip-10-0-0-7.eu-west-1.compute.internal')).toBe('ip-10-0-0-7_eu-west-1_compute_internal');
    expect(replicaId('', '')).toBe('gateway');
  });
});
