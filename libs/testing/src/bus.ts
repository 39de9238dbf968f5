import { dropDatabase } from '@pep/db';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { dbUrl, NATS_URL, type TestNames } from './names.ts';
import { bestEffort } from './teardown.ts';

/** Connects to NATS and provisions this test's own stream; `cleanup` deletes it and the test databases. */
export async function createTestBus(names: TestNames, services: string[] = []) {
  const bus = await connectBus({ url: NATS_URL, name: `test-${names.id}`, stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '2' }),
  );
  return {
    bus,
    async cleanup() {
      await bestEffort(`delete stream ${names.STREAM_NAME}`, bus.jsm.streams.delete(names.STREAM_NAME));
      await closeBus(bus);
      for (const s of services) await bestEffort(`drop database of ${s}`, dropDatabase(dbUrl(names, s)));
    },
  };
}
