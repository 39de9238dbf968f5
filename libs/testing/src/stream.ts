import type { StoredEvent } from '@pep/contracts';
import { decodeEvent, type EventBus } from '@pep/events';
import { DeliverPolicy } from '@nats-io/jetstream';
import { bestEffort } from './teardown.ts';

/** Every event on `filter`, in stream order: the oracle tests fold (a consumer from the first sequence, deleted after). */
export async function readAll(bus: EventBus, filter: string): Promise<StoredEvent[]> {
  const info = await bus.jsm.streams.info(bus.stream);
  const out: StoredEvent[] = [];
  if (info.state.last_seq === 0) return out;
  const consumer = await bus.js.consumers.get(bus.stream, { filter_subjects: filter, deliver_policy: DeliverPolicy.All });
  try {
    let remaining = (await consumer.info()).num_pending;
    while (remaining > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(1000, remaining), expires: 5000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        out.push(decodeEvent(m));
        remaining = m.info.pending;
      }
      if (got === 0) break;
    }
  } finally {
    await bestEffort('delete the read-back consumer', consumer.delete());
  }
  return out;
}

/** Every event stored after `seq`, to the end of the stream (what a test's requests appended). */
export async function eventsAfter(bus: EventBus, seq: number): Promise<StoredEvent[]> {
  const info = await bus.jsm.streams.info(bus.stream);
  if (info.state.last_seq <= seq) return [];
  const consumer = await bus.js.consumers.get(bus.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seq + 1 });
  const out: StoredEvent[] = [];
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      let got = 0;
      let pending = 0;
      for await (const m of batch) {
        got++;
        out.push(decodeEvent(m));
        pending = m.info.pending;
      }
      if (got === 0 || pending === 0) break;
    }
  } finally {
    await bestEffort('delete the read-back consumer', consumer.delete());
  }
  return out;
}
