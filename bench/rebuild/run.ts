// bench/rebuild (`pnpm bench:rebuild`): how fast a projection is rebuilt beside its live copy (shadow tables, its
// own consumer from sequence 1, batch + checkpoint per transaction, then the atomic switch-over), beside the
// baseline of a raw JetStream consume of the same stream (an ordered consumer reading and JSON-decoding every
// message, no database). Rounds alternate (baseline, rebuild, baseline, rebuild) on one stream of BENCH_EVENTS
// (default 30,000) events. The floor: rebuild events/s ≥ 0.3 × raw consume events/s. Ends with one JSON line.
import { randomUUID } from 'node:crypto';
import type { StoredEvent } from '@pep/contracts';
import { createDb, dropDatabase, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import {
  closeBus,
  connectBus,
  decodeEvent,
  ensureStream,
  type Projection,
  pgDeadLetters,
  rebuildBeside,
  StreamSettingsSchema,
  startProjection,
} from '@pep/events';
import { createLogger } from '@pep/runtime';
import { DeliverPolicy } from '@nats-io/jetstream';
import { dbUrl, testNames } from '@pep/testing';
import { sql, type Transaction } from 'kysely';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 30_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const FLOOR = 0.3;

type Tables = PlatformTables & { bench_things: { event_id: string; subject: string; seq: number; amount: number } };

async function main() {
  console.log(`bench/rebuild: ${EVENTS} events, ${ROUNDS} rounds each (raw consume, rebuild beside); node ${process.version}`);
  const names = testNames('benchrbd');
  const logger = createLogger('bench', (process.env.BENCH_LOG as 'warn') ?? 'warn');
  const bus = await connectBus({ url: NATS_URL, name: 'bench-rebuild', stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '1' }),
  );
  const url = dbUrl(names, 'bench');
  await ensureDatabase(url);
  const db = createDb<Tables>(url);
  try {
    await migrateToLatest(db, {
      '1700000000000-BenchThings': {
        up: async (d) => {
          await d.schema
            .createTable('bench_things')
            .addColumn('event_id', 'text', (c) => c.primaryKey())
            .addColumn('subject', 'text', (c) => c.notNull())
            .addColumn('seq', 'integer', (c) => c.notNull())
            .addColumn('amount', 'integer', (c) => c.notNull())
            .execute();
        },
        down: async (d) => {
          await d.schema.dropTable('bench_things').execute();
        },
      },
    });

    // The stream: EVENTS events over 500 aggregates, published with 1,000 acks in flight.
    const enc = new TextEncoder();
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i += 1000) {
      const n = Math.min(1000, EVENTS - i);
      await Promise.all(
        Array.from({ length: n }, (_, k) => {
          const id = `evt_${randomUUID()}`;
          const body = {
            specversion: '1.0',
            id,
            source: 'bench',
            type: 'thing.counted',
            time: new Date().toISOString(),
            schemaversion: 1,
            data: { amount: (i + k) % 97 },
          };
          return bus.js.publish(`${names.SUBJECT_PREFIX}.agg.thing.t${(i + k) % 500}`, enc.encode(JSON.stringify(body)), { msgID: id });
        }),
      );
    }
    const filter = `${names.SUBJECT_PREFIX}.agg.thing.>`;
    const last = (await bus.jsm.streams.info(names.STREAM_NAME)).state.last_seq;
    console.log(`published ${EVENTS} events in ${Math.round(performance.now() - t0)} ms (last seq ${last})`);

    let applyMs = 0;
    let applyBatches = 0;
    const projection: Projection<Tables> = {
      name: 'bench_things',
      filterSubject: filter,
      tables: ['bench_things'],
      async apply(trx: Transaction<Tables>, events: StoredEvent[]) {
        const t = performance.now();
        applyBatches++;
        // One statement with four array parameters (unnest) instead of four parameters per row: the batch is sent,
        // parsed and planned once, whatever its size (how a projection writes a rebuild's large batches cheaply).
        await sql`insert into bench_things (event_id, subject, seq, amount)
          select * from unnest(${events.map((e) => e.id)}::text[], ${events.map((e) => e.subject_name)}::text[],
            ${events.map((e) => e.seq)}::int[], ${events.map((e) => (e.data as { amount: number }).amount)}::int[])`.execute(trx);
        applyMs += performance.now() - t;
      },
      async reset(trx) {
        await trx.deleteFrom('bench_things').execute();
      },
    };
    const deadLetters = pgDeadLetters(db);
    const live = await startProjection({ bus, db, projection, deadLetters, logger });
    await live.waitFor(last, 300_000);

    const raw = async () => {
      const start = performance.now();
      const c = await bus.js.consumers.get(names.STREAM_NAME, {
        filter_subjects: filter,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: 1,
      });
      const messages = await c.consume({ max_messages: 1000 });
      let n = 0;
      let sum = 0;
      for await (const m of messages) {
        sum += (decodeEvent(m).data as { amount: number }).amount;
        n++;
        if (m.seq >= last) break;
      }
      messages.stop();
      const ms = performance.now() - start;
      if (n !== EVENTS) throw new Error(`raw consume read ${n} of ${EVENTS} (sum ${sum})`);
      return (n / ms) * 1000;
    };
    const rebuild = async () => {
      applyMs = 0;
      applyBatches = 0;
      const r = await rebuildBeside({ bus, db, projection, live, deadLetters, logger });
      console.log(`  rebuild: ${r.ms} ms, of which ${Math.round(applyMs)} ms in ${applyBatches} apply calls`);
      const rows = Number(
        (
          await db
            .selectFrom('bench_things')
            .select((e) => e.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
      if (rows !== EVENTS || r.events !== EVENTS) throw new Error(`rebuild gave ${rows} rows from ${r.events} events, expected ${EVENTS}`);
      return (r.events / r.ms) * 1000;
    };

    const rawRates: number[] = [];
    const rebuildRates: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      rawRates.push(await raw());
      rebuildRates.push(await rebuild());
      console.log(
        `round ${round}: raw consume ${Math.round(rawRates.at(-1) ?? 0)} ev/s, rebuild beside ${Math.round(rebuildRates.at(-1) ?? 0)} ev/s`,
      );
    }
    await live.stop();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;
    const rawEps = median(rawRates);
    const rebuildEps = median(rebuildRates);
    const ratio = rebuildEps / rawEps;
    console.log(`raw JetStream consume: ${Math.round(rawEps)} events/s (baseline)`);
    console.log(`rebuild beside + switch-over: ${Math.round(rebuildEps)} events/s`);
    console.log(`ratio ${ratio.toFixed(2)} (floor ${FLOOR}): ${ratio >= FLOOR ? 'met' : 'NOT met'}`);
    console.log(
      JSON.stringify({
        bench: 'rebuild',
        events: EVENTS,
        raw_consume_eps: Math.round(rawEps),
        rebuild_eps: Math.round(rebuildEps),
        ratio: Math.round(ratio * 100) / 100,
        floor: FLOOR,
        met: ratio >= FLOOR,
      }),
    );
    if (ratio < FLOOR) process.exitCode = 1;
  } finally {
    await db.destroy();
    await bus.jsm.streams.delete(names.STREAM_NAME).catch((err: unknown) => console.error('stream not deleted', err));
    await closeBus(bus);
    await dropDatabase(url).catch((err: unknown) => console.error('database not dropped', err));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
