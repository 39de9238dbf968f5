import type { PlatformEvent } from '@pep/contracts';
import { createDb } from '@pep/db';
import { aggregateFilter, aggregateSubject, publishMany } from '@pep/events';
import { createTestBus, dbUrl, freePort, serviceEnv, spawnService, testNames, waitReady, waitUntil } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryDB } from '../src/db/schema.ts';
import { addHour, type HourDelta, rollupHour } from '../src/projections/integration-traffic/index.ts';
import { INTEGRATION_TRAFFIC_PROJECTION } from '../src/projections/integration-traffic/table.ts';
import { SERVICE_NAME } from '../src/service.ts';
import { envelope, readAll } from './support/stream.ts';

// Integration metrics are kept by partner-registry (a real process here) while rollups keep arriving; it is killed
// with SIGKILL mid-way and started again. Its read model must end equal to a fold of the rollups in the stream.
const names = testNames('itrcrash');
const INTEGRATIONS = 12;
/** Rollups are published in batches until the restarted process has been up for a while (at least this many). */
const MIN_BATCHES = 20;
const PER_BATCH = 50;
const CLASSES = ['success', 'timeout', 'tls', 'network', 'http_4xx', 'http_5xx', 'rate_limited', 'mapping'] as const;
const T0 = Date.parse('2026-11-30T00:00:00.000Z');
let t: Awaited<ReturnType<typeof createTestBus>>;

beforeAll(async () => {
  t = await createTestBus(names, [SERVICE_NAME]);
});
afterAll(async () => {
  await t?.cleanup();
});

/** The n-th rollup: an integration, a minute over 10 hours, a mix of classes and latencies (deterministic). */
function rollup(n: number): { subject: string; event: PlatformEvent } {
  const integration = `int_crash${n % INTEGRATIONS}`;
  const endpoint = `whe_crash${n % (INTEGRATIONS * 2)}`;
  const minute = new Date(T0 + (n % 600) * 60_000).toISOString();
  const counts = CLASSES.map((_, i) => (n * (i + 3)) % (i === 0 ? 17 : 4));
  const attempts = counts.reduce((a, b) => a + b, 0);
  const latency = Array.from({ length: 10 }, (_, i) => (i === n % 10 ? attempts : 0));
  const reporter = `r${Math.floor(n / 600)}`;
  const id = `whru_${endpoint}_${minute.slice(0, 16).replace(/[-T:]/g, '')}_${reporter}`;
  const event = envelope(
    'webhook.deliveries.rolled_up',
    {
      endpoint_id: endpoint,
      partner_id: 'prt_crash',
      integration_id: integration,
      minute,
      reporter,
      attempts,
      succeeded: counts[0],
      exhausted: 0,
      by_class: Object.fromEntries(CLASSES.map((c, i) => [c, counts[i]])),
      by_event_type: { 'lead.created': { attempts, succeeded: counts[0], exhausted: 0 } },
      latency_ms_buckets: latency,
      latency_ms_sum: attempts * 40,
    },
    'prt_crash',
    id,
  );
  return { subject: aggregateSubject(names.SUBJECT_PREFIX, 'webhook_traffic', endpoint), event };
}

describe('integration metrics under kill -9 while traffic flows', () => {
  it('end equal to a fold of the rollups in the stream', async () => {
    const db = createDb<RegistryDB>(dbUrl(names, SERVICE_NAME), { max: 2 });
    let publishing: Promise<void> | undefined;
    try {
      const checkpoint = async () =>
        Number(
          (
            await db
              .selectFrom('projection_checkpoints')
              .select('seq')
              .where('name', '=', INTEGRATION_TRAFFIC_PROJECTION)
              .executeTakeFirst()
              .catch(() => undefined)
          )?.seq ?? 0,
        );
      let published = 0;
      let lastSeq = 0;
      let restartedAtBatch = Number.POSITIVE_INFINITY;
      let b = 0;
      publishing = (async () => {
        // Traffic flows before, during and after the crash: it stops 5 batches after the restart, at the earliest.
        for (; b < MIN_BATCHES || b < restartedAtBatch + 5; b++) {
          const acks = await publishMany(
            t.bus,
            Array.from({ length: PER_BATCH }, (_, i) => rollup(b * PER_BATCH + i)),
          );
          lastSeq = Math.max(lastSeq, ...acks.map((a) => a.seq));
          published += PER_BATCH;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();

      const env = serviceEnv(names, { HEALTH_PORT: String(await freePort()) });
      const first = spawnService(SERVICE_NAME, env);
      await waitUntil(async () => (await checkpoint()) > 0, { intervalMs: 5, timeoutMs: 90_000, what: 'first checkpoint' }).catch(
        async (err) => {
          await first.stop('SIGKILL');
          throw new Error(`${(err as Error).message}\n${first.output().slice(-3000)}`);
        },
      );
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe(-1);
      const atCrash = await checkpoint();
      console.info(`integration-traffic killed at checkpoint ${atCrash}; ${published} rollups published so far`);

      const port2 = await freePort();
      const second = spawnService(SERVICE_NAME, { ...env, HEALTH_PORT: String(port2) });
      try {
        await waitReady(`http://127.0.0.1:${port2}/readyz`, second);
        restartedAtBatch = b;
        await publishing;
        expect(published).toBeGreaterThan(atCrash);
        await waitUntil(async () => (await checkpoint()) >= lastSeq, {
          timeoutMs: 120_000,
          intervalMs: 100,
          what: 'projection to catch up',
        });
      } finally {
        await second.stop();
      }

      // The expected read model: a fold of the rollups in the stream (a repeat would be dropped by its id).
      const expected = new Map<string, HourDelta>();
      const stored = await readAll(t.bus, aggregateFilter(names.SUBJECT_PREFIX, 'webhook_traffic'));
      expect(stored).toHaveLength(published);
      for (const e of stored) {
        const d = e.data as Parameters<typeof rollupHour>[0];
        const h = rollupHour(d, d.integration_id ?? '');
        const key = `${h.integration_id}|${new Date(h.hour).toISOString()}`;
        const prior = expected.get(key);
        expected.set(key, prior ? addHour(prior, h) : h);
      }
      const rows = await db.selectFrom('integration_metrics_hourly').selectAll().execute();
      const got = new Map(
        rows.map((r) => [
          `${r.integration_id}|${new Date(r.hour).toISOString()}`,
          {
            webhook_attempts: Number(r.webhook_attempts),
            webhook_succeeded: Number(r.webhook_succeeded),
            by_class: r.by_class,
            latency_buckets: r.latency_buckets,
            latency_sum: Number(r.latency_sum),
          },
        ]),
      );
      const want = new Map(
        [...expected].map(([k, h]) => [
          k,
          {
            webhook_attempts: h.webhook_attempts,
            webhook_succeeded: h.webhook_succeeded,
            by_class: Object.fromEntries(Object.entries(h.by_class).filter(([, n]) => n > 0)),
            latency_buckets: h.latency_buckets,
            latency_sum: h.latency_sum,
          },
        ]),
      );
      const norm = (m: Map<string, { by_class: Record<string, number> }>) =>
        [...m]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => [
            k,
            {
              ...v,
              by_class: Object.fromEntries(
                Object.entries(v.by_class)
                  .filter(([, n]) => n > 0)
                  .sort(),
              ),
            },
          ]);
      expect(norm(got)).toEqual(norm(want));
      expect(rows.length).toBeGreaterThanOrEqual(INTEGRATIONS);
    } finally {
      await publishing?.catch((err: unknown) => console.error('publishing failed', err));
      await db.destroy();
    }
  }, 240_000);
});
