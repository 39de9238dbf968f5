import type { PlatformEvent } from '@pep/contracts';
import { PublishError } from '@pep/events';
import { createTestBus, testNames } from '@pep/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamPublisher } from '../src/events/jetstream-publisher.ts';

const names = testNames('gwpub');
let t: Awaited<ReturnType<typeof createTestBus>>;
let publisher: JetStreamPublisher;

const event = (id: string): PlatformEvent => ({
  specversion: '1.0',
  id,
  source: 'test',
  type: 'lead.created',
  time: new Date().toISOString(),
  datacontenttype: 'application/json',
  schemaversion: 1,
  partnerid: 'prt_1',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  data: { lead_id: 'l1', email: 'a@example.com' },
});

beforeAll(async () => {
  t = await createTestBus(names);
  publisher = new JetStreamPublisher(t.bus.nc, 2000);
  publisher.start();
});
afterAll(async () => {
  publisher?.stop();
  await t?.cleanup();
});

describe('JetStreamPublisher', () => {
  it('publishes many events concurrently, each acked with its own sequence and the event headers', async () => {
    const subject = `${names.SUBJECT_PREFIX}.ext.prt_1.lead.created`;
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => publisher.publish(subject, event(`e${i}`), `prt_1:e${i}`)));
    expect(new Set(results.map((r) => r.seq)).size).toBe(200);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    const stored = await t.bus.jsm.streams.getMessage(names.STREAM_NAME, { seq: results[7]!.seq });
    expect(stored?.header.get('Nats-Msg-Id')).toBe('prt_1:e7');
    expect(stored?.header.get('ce-type')).toBe('lead.created');
    expect(stored?.header.get('ce-partnerid')).toBe('prt_1');
    expect(stored?.header.get('traceparent')).toContain('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(stored?.json<PlatformEvent>().id).toBe('e7');
    expect(publisher.inFlight()).toBe(0);
  });

  it('reports a duplicate dedupe key with the original sequence', async () => {
    const subject = `${names.SUBJECT_PREFIX}.ext._.lead.created`;
    const a = await publisher.publish(subject, event('dup'), '_:dup');
    const b = await publisher.publish(subject, event('dup'), '_:dup');
    expect(b).toEqual({ id: 'dup', seq: a.seq, duplicate: true });
  });

  it('rejects with a PublishError when no stream takes the subject', async () => {
    await expect(publisher.publish(`nostream_${names.id}.x`, event('lost'), '_:lost')).rejects.toBeInstanceOf(PublishError);
    expect(publisher.inFlight()).toBe(0);
  });
});
