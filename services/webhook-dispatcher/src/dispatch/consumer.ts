import { aggregateFilter, allFilter, type DeadLetterSink, type EventBus, trackDurable, upsertConsumer } from '@pep/events';
import type { Logger } from '@pep/runtime';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { type DecodedMessage, parseEnvelope } from './batch-planner.ts';
import { traceIntake } from './intake-trace.ts';
import type { DispatchMetrics } from './metrics.ts';

export interface IntakeConsumerOptions {
  durable: string;
  ackWaitMs: number;
  deliverPolicy: 'all' | 'new';
}

/**
 * The intake consumer: a durable pull consumer shared by every replica, reading all platform events. Each
 * replica holds up to MAX_HELD unacked messages while their first attempts run; room for several replicas.
 */
export async function intakeConsumer(bus: EventBus, c: IntakeConsumerOptions, logger: Logger) {
  const cfg = {
    durable_name: c.durable,
    ack_policy: AckPolicy.Explicit,
    filter_subject: allFilter(bus.prefix),
    deliver_policy: c.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ack_wait: nanos(c.ackWaitMs),
    max_ack_pending: 50_000,
  };
  await upsertConsumer(bus, cfg, { ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending }, logger);
  const consumer = await bus.js.consumers.get(bus.stream, c.durable);
  trackDurable(bus, c.durable);
  return consumer;
}

/** Events the consumer has not read or acked yet. */
export async function consumerLag(bus: EventBus, durable: string): Promise<number> {
  const info = await bus.jsm.consumers.info(bus.stream, durable);
  return info.num_pending + info.num_ack_pending;
}

/**
 * Highest stream sequence of any webhook_endpoint event: one JetStream direct get per batch (a NATS round
 * trip, no Postgres) tells whether the endpoint cache covers the batch.
 */
export function endpointWatermark(bus: EventBus): () => Promise<number> {
  const filter = aggregateFilter(bus.prefix, 'webhook_endpoint');
  return async () => {
    const m = await bus.jsm.streams.getMessage(bus.stream, { last_by_subj: filter });
    return m ? m.seq : 0;
  };
}

const dec = new TextDecoder();

/** Decodes a batch; what is not an event envelope is dead-lettered and terminated. */
export function createDecoder(o: { durable: string; deadLetters: DeadLetterSink; metrics: DispatchMetrics }) {
  return async (msgs: JsMsg[]): Promise<DecodedMessage<JsMsg>[]> => {
    const decoded: DecodedMessage<JsMsg>[] = [];
    for (const m of msgs) {
      const body = dec.decode(m.data);
      try {
        decoded.push({
          msg: m,
          seq: m.seq,
          storedAtMs: m.info.timestampNanos / 1e6,
          envelope: traceIntake(o.durable, m, parseEnvelope(body)),
          body,
        });
      } catch (err) {
        o.metrics.recovered('intake', 'undecodable event dead-lettered', { seq: m.seq, subject: m.subject, err });
        try {
          await o.deadLetters.record({
            consumer: o.durable,
            stream_seq: m.seq,
            subject: m.subject,
            event_id: null,
            event_type: null,
            payload: body,
            error: err instanceof Error ? err.message : String(err),
            attempts: m.info.deliveryCount,
          });
        } catch (e) {
          o.metrics.recovered('dead_letter', 'recording a dead letter failed; the event is terminated all the same', {
            seq: m.seq,
            err: e,
          });
        }
        m.term();
      }
    }
    return decoded;
  };
}
