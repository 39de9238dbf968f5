import type { Partner, PlatformEvent } from '@pep/contracts';
import { createDb } from '@pep/db';
import { aggregateFilter, aggregateSubject, publishMany } from '@pep/events';
import { createTestBus, dbUrl, freePort, serviceEnv, spawnService, testNames, waitReady, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryDB } from '../src/db/schema.ts';
import { evolvePartnerProfile, type PartnerProfile } from '../src/domain/partner/partner.ts';
import { rowToPartner } from '../src/projections/partners/index.ts';
import { SERVICE_NAME } from '../src/service.ts';
import { envelope, readAll } from './support/stream.ts';

const names = testNames('prtcrash');
const PARTNERS = 1_200;
const ROUNDS = 5; // 1 create + 4 updates each: 6,000 events
let t: Awaited<ReturnType<typeof createTestBus>>;

beforeAll(async () => {
  t = await createTestBus(names, [SERVICE_NAME]);
});
afterAll(async () => {
  await t?.cleanup();
});

async function publishStream(): Promise<number> {
  const ids = Array.from({ length: PARTNERS }, (_, i) => `prt_crash${String(i).padStart(5, '0')}`);
  let last = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const items = ids.map((id, i) => {
      const event: PlatformEvent =
        round === 0
          ? envelope(
              'partner.created',
              { partner_id: id, name: `P${i}`, type: 'technology', contact_email: `p${i}@x.test`, tier: 'standard' },
              id,
            )
          : round === 3 && i % 7 === 0
            ? envelope('partner.activated', { partner_id: id }, id)
            : envelope(
                'partner.updated',
                round % 2 ? { partner_id: id, name: `P${i} r${round}` } : { partner_id: id, contact_email: `p${i}.r${round}@x.test` },
                id,
              );
      return { subject: aggregateSubject(names.SUBJECT_PREFIX, 'partner', id), event };
    });
    // One round at a time keeps each partner's events in order; within a round the publishes are pipelined.
    for (let i = 0; i < items.length; i += 400) {
      const acks = await publishMany(t.bus, items.slice(i, i + 400));
      last = Math.max(last, ...acks.map((a) => a.seq));
    }
  }
  return last;
}

describe('partners projection under kill -9', () => {
  it('ends exactly equal to a fold of the stream after a crash mid-way and a restart', async () => {
    const lastSeq = await publishStream();
    expect(lastSeq).toBe(PARTNERS * ROUNDS);
    const db = createDb<RegistryDB>(dbUrl(names, SERVICE_NAME), { max: 2 });
    try {
      const checkpoint = async () =>
        (
          await db
            .selectFrom('projection_checkpoints')
            .select('seq')
            .where('name', '=', 'partners')
            .executeTakeFirst()
            .catch(() => undefined)
        )?.seq ?? 0;

      const env = serviceEnv(names, { HEALTH_PORT: String(await freePort()) });
      const first = spawnService(SERVICE_NAME, env);
      // Kill it the moment the first batch is committed: the projection is busy with the rest of the stream.
      await waitUntil(async () => (await checkpoint()) > 0, { intervalMs: 2, timeoutMs: 60_000, what: 'first checkpoint' }).catch(
        async (err) => {
          await first.stop('SIGKILL');
          throw new Error(`${(err as Error).message}\n${first.output().slice(-3000)}`);
        },
      );
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe(-1);
      const atCrash = await checkpoint();
      console.info(`partners projection killed at checkpoint ${atCrash} of ${lastSeq}`);
      expect(atCrash).toBeGreaterThanOrEqual(1);
      expect(atCrash).toBeLessThanOrEqual(5_000);

      const port2 = await freePort();
      const second = spawnService(SERVICE_NAME, { ...env, HEALTH_PORT: String(port2) });
      try {
        await waitReady(`http://127.0.0.1:${port2}/readyz`, second);
        await waitUntil(async () => (await checkpoint()) === lastSeq, {
          timeoutMs: 120_000,
          intervalMs: 100,
          what: 'projection to catch up',
        });
      } finally {
        await second.stop();
      }

      // The expected read model: a fold of every partner event with the same evolve the service uses.
      const expected = new Map<string, PartnerProfile | undefined>();
      for (const e of await readAll(t.bus, aggregateFilter(names.SUBJECT_PREFIX, 'partner'))) {
        const id = (e.data as { partner_id: string }).partner_id;
        expected.set(id, evolvePartnerProfile(expected.get(id), e));
      }
      const rows = (await db.selectFrom('partners').selectAll().orderBy('id').execute()).map(rowToPartner);
      expect(rows).toHaveLength(PARTNERS);
      const want = [...expected.values()].filter((p): p is Partner => p !== undefined).sort((a, b) => a.id.localeCompare(b.id));
      expect(rows).toEqual(want);
      expect(rows.filter((r) => r.status === 'active')).toHaveLength(Math.ceil(PARTNERS / 7));
      expect(rows.every((r) => r.version > 4 * PARTNERS)).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});
