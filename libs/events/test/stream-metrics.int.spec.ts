import type { PlatformEvent } from '@pep/contracts';
import { createDb, ensureDatabase, migrateToLatest, type PlatformTables } from '@pep/db';
import { createLogger, createMetrics, newId } from '@pep/runtime';
import { createTestBus, dbUrl, testNames } from '@pep/testing';
import { AckPolicy } from '@nats-io/jetstream';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateSubject, pgDeadLetters, publishEvent, registerStreamMetrics, trackDurable } from '../src/index.ts';

// What /metrics says about a consumer's lag and open dead letters is read from JetStream and the database at
// scrape time, so it follows them: events published raise the lag, a dead letter settled leaves the gauge.
const names = testNames('smx');
const logger = createLogger('test', 'silent');
let t: Awaited<ReturnType<typeof createTestBus>>;
let db: Kysely<PlatformTables>;

const ev = (): PlatformEvent => ({
  specversion: '1.0',
  id: newId('evt'),
  source: 'test',
  type: 'thing.named',
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  data: {},
});

beforeAll(async () => {
  t = await createTestBus(names, ['smx']);
  const url = dbUrl(names, 'smx');
  await ensureDatabase(url);
  db = createDb(url);
  await migrateToLatest(db, {});
});

afterAll(async () => {
  await db?.destroy();
  await t?.cleanup();
});

describe('stream metrics', () => {
  it('reports num_pending per durable and open dead letters per consumer, as they are now', async () => {
    const durable = `smx_${names.id}`;
    const subject = aggregateSubject(t.bus.prefix, 'thing', 'a');
    await t.bus.jsm.consumers.add(t.bus.stream, { durable_name: durable, filter_subject: subject, ack_policy: AckPolicy.Explicit });
    trackDurable(t.bus, durable);
    const metrics = createMetrics('test');
    registerStreamMetrics(metrics, { logger, db });
    const scrape = () => metrics.registry.metrics();

    for (let i = 0; i < 5; i++) await publishEvent(t.bus, subject, ev());
    expect(await scrape()).toContain(`jetstream_consumer_pending{consumer="${durable}",service="test"} 5`);
    await publishEvent(t.bus, subject, ev());
    expect(await scrape()).toContain(`jetstream_consumer_pending{consumer="${durable}",service="test"} 6`);

    const letters = pgDeadLetters(db);
    await letters.record({
      consumer: 'projection:things',
      stream_seq: 1,
      subject,
      event_id: 'evt_x',
      event_type: 'thing.named',
      payload: '{}',
      error: 'Error: refused',
      attempts: 3,
    });
    expect(await scrape()).toContain('dead_letters_open{consumer="projection:things",service="test"} 1');
    const [letter] = await letters.list();
    await letters.discard(letter?.id as number);
    expect(await scrape()).not.toContain('dead_letters_open{consumer="projection:things"');
  });
});
