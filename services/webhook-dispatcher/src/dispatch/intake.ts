import type { ProjectionRunner } from '@pep/events';
import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import { type DecodedMessage, planBatch, stillBehind, watermarkCheck } from './batch-planner.ts';
import type { CachedEndpoint, EndpointCache } from './endpoint-cache.ts';
import type { HeldLedger } from './held-ledger.ts';
import { heldMessage, settle } from './held-message.ts';
import type { Lane, Lanes } from './lanes.ts';
import { existingDeliveries, insertDeliveries, type IntakeEvent, type NewDelivery } from './store.ts';
import type { HeldWork } from './work.ts';
import type { DispatchCore } from './core.ts';

/** Intake batches in flight at once, and the most messages in one. */
const INTAKE_PARALLEL = 3;
const INTAKE_BATCH = 500;
/** Received messages not yet batched above which the consume loop waits. */
const INTAKE_BACKPRESSURE = 4000;

export interface IntakeOptions extends DispatchCore {
  consumer: Consumer;
  cache: EndpointCache;
  lanes: Lanes;
  ledger: HeldLedger;
  attemptBudget: number;
  decode: (msgs: JsMsg[]) => Promise<DecodedMessage<JsMsg>[]>;
  watermark: () => Promise<number>;
  endpointsProjection: () => ProjectionRunner | undefined;
  isStopped: () => boolean;
  /** Rows were written: poll for them. */
  nudge: () => void;
}

/**
 * Intake: a delivery whose endpoint lane has room is sent straight from the stream (no row first; its
 * message is acked once its attempt is recorded). A redelivered message, and whatever a lane has no room
 * for, becomes a pending row instead (unique per endpoint and event).
 */
export function createIntake(o: IntakeOptions) {
  const plan = (decoded: DecodedMessage<JsMsg>[]) =>
    planBatch(decoded, {
      match: (ev, storedAt) => o.cache.matching(ev.partnerid, ev.type, ev.data, storedAt),
      room: (ep: CachedEndpoint) => o.lanes.room(o.lanes.laneFor(ep)),
      heldRoom: o.ledger.hasRoom,
      attemptBudget: o.attemptBudget,
      stopped: o.isStopped(),
    });

  // A message can come back after its deliveries were written down (a lost ack; around a consumer's restart
  // nats-server 2.9 was seen to hand an acked message out again as new). So only deliveries that have no row
  // yet are sent from memory: one primary-key read (no commit), made beside the endpoint watermark check.
  const existingOf = (ids: string[]): Promise<Set<string> | null> =>
    ids.length === 0
      ? Promise.resolve(new Set<string>())
      : existingDeliveries(o.db, ids).catch((err: unknown) => {
          o.metrics.recovered('intake', 'could not check for existing deliveries; the batch takes the row path', { err });
          return null;
        });
  const sendIds = (p: ReturnType<typeof plan>) => p.messages.flatMap((m) => m.deliveries.filter((d) => d.send).map((d) => d.delivery.id));

  const processBatch = async (msgs: JsMsg[], arrivedAt: number) => {
    const startedAt = o.clock();
    const oldest = Math.min(...msgs.map((m) => m.info.timestampNanos / 1e6));
    o.metrics.intake.observe({ stage: 'consumer' }, Math.max(0, arrivedAt - oldest) / 1000);
    o.metrics.intake.observe({ stage: 'queued' }, Math.max(0, startedAt - arrivedAt) / 1000);
    const decoded = await o.decode(msgs);
    if (decoded.length === 0) return;
    const maxSeq = Math.max(...decoded.map((d) => d.seq));
    const watermark = o.watermark().catch((err: unknown) => {
      o.metrics.recovered('intake', 'endpoint watermark unavailable; matching the batch against the up-to-date read model', { err });
      return Number.POSITIVE_INFINITY;
    });
    // What the cache covered when the batch was matched (it may be reloaded while the checks run).
    const plannedWith = o.cache.loadedSeq;
    let planned = plan(decoded);
    let existingP = existingOf(sendIds(planned));
    const wm = await watermark;
    if (watermarkCheck(wm, maxSeq, plannedWith) === 'replan') {
      // The cache was behind an endpoint change (rare): wait for the read model and plan again.
      await existingP;
      try {
        await o.endpointsProjection()?.waitFor(maxSeq, 10_000);
      } catch (err) {
        o.metrics.recovered('intake', 'endpoints projection behind', { err });
      }
      await o.cache.refresh();
      if (stillBehind(wm, maxSeq, o.cache.loadedSeq)) {
        o.metrics.recovered('intake', 'endpoint read model still behind the batch; its messages are delivered again', {
          needed: Math.min(wm, maxSeq),
          loaded: o.cache.loadedSeq,
        });
        for (const d of decoded) d.msg.nak(1000);
        return;
      }
      planned = plan(decoded);
      existingP = existingOf(sendIds(planned));
    }
    const existing = await existingP;
    for (const m of planned.unmatched) m.ack();
    const rows: NewDelivery[] = [];
    const rowEvents = new Map<number, IntakeEvent>();
    /** One entry per row delivery: the message it belongs to (settled once per delivery). */
    const rowRefs: ReturnType<typeof heldMessage>[] = [];
    const touched = new Set<Lane>();
    let candidates = 0;
    const now = o.clock();
    for (const pm of planned.messages) {
      const hm = heldMessage(pm.msg, pm.deliveries.length);
      for (const d of pm.deliveries) {
        const lane = o.lanes.laneFor(d.endpoint);
        const asRow = () => {
          rows.push(d.delivery);
          rowEvents.set(pm.event.seq, pm.event);
          rowRefs.push(hm);
          lane.backlog = true;
        };
        if (!d.send) {
          asRow();
          continue;
        }
        candidates++;
        if (existing?.has(d.delivery.id)) settle(hm, true);
        else if (existing === null || o.isStopped()) asRow();
        else {
          const work: HeldWork = {
            kind: 'held',
            id: d.delivery.id,
            endpoint_id: d.endpoint.row.id,
            event_type: pm.event.type,
            attempts: 0,
            body: pm.event.body,
            traceparent: pm.event.traceparent,
            stored_at_ms: pm.msg.info.timestampNanos / 1e6,
            delivery: d.delivery,
            event: pm.event,
            msg: hm,
            heldSince: now,
          };
          o.ledger.hold(work);
          lane.queue.push(work);
          touched.add(lane);
        }
      }
    }
    if (candidates) {
      o.metrics.intake.observe({ stage: 'handoff' }, (o.clock() - startedAt) / 1000);
      for (const l of touched) o.lanes.pump(l);
    }
    if (rows.length) {
      let ok = true;
      try {
        await insertDeliveries(o.db, [...rowEvents.values()], rows);
      } catch (err) {
        ok = false;
        o.metrics.recovered('intake', 'intake rows not written; their messages will be delivered again', { err });
      }
      for (const hm of rowRefs) settle(hm, ok);
      o.nudge();
    }
  };

  // Batches are cut per event-loop turn (what one socket read brought) and up to INTAKE_PARALLEL of them are
  // in flight at once, so a batch never waits behind another one's round trips.
  const pendingMsgs: JsMsg[] = [];
  /** When the oldest message in pendingMsgs arrived. */
  let pendingSince = 0;
  const runningBatches = new Set<Promise<void>>();
  let flushQueued = false;
  const scheduleFlush = () => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      while (pendingMsgs.length && runningBatches.size < INTAKE_PARALLEL) {
        const b = pendingMsgs.splice(0, INTAKE_BATCH);
        const arrivedAt = pendingSince;
        pendingSince = o.clock();
        const run: Promise<void> = processBatch(b, arrivedAt)
          .catch((err: unknown) => {
            o.metrics.recovered('intake', 'intake batch crashed; its messages are delivered again', { err });
            for (const m of b) m.nak(1000);
          })
          .finally(() => {
            runningBatches.delete(run);
            if (pendingMsgs.length) scheduleFlush();
          });
        runningBatches.add(run);
      }
    });
  };

  let messages: ConsumerMessages | undefined;
  const loop = (async () => {
    while (!o.isStopped()) {
      try {
        // consume() keeps pull requests outstanding (it re-pulls at 75 % of max_messages): the server pushes
        // each new event as soon as it is stored, there is no polling interval on this path.
        messages = await o.consumer.consume({ max_messages: 1000 });
        for await (const m of messages) {
          if (pendingMsgs.length === 0) pendingSince = o.clock();
          pendingMsgs.push(m);
          scheduleFlush();
          while (pendingMsgs.length > INTAKE_BACKPRESSURE && !o.isStopped()) await new Promise((r) => setTimeout(r, 5));
          // No break on stop: stop() ends this iterator after the messages it has already received, which
          // are written down as pending rows; abandoned, they would wait out the ack deadline.
        }
      } catch (err) {
        if (o.isStopped()) break;
        o.metrics.recovered('intake', 'intake consume loop failed, restarting', { err });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  return {
    messages: () => messages,
    /** Ends the consume loop and writes down what was received but not batched (call once stopped). */
    async stop() {
      messages?.stop();
      await loop;
      while (runningBatches.size) await Promise.all([...runningBatches]);
      // Received but not batched yet: written down as pending rows (stopped: nothing is held any more).
      if (pendingMsgs.length) {
        try {
          await processBatch(pendingMsgs.splice(0), o.clock());
        } catch (err) {
          o.metrics.recovered('intake', 'last intake batch failed; its messages are delivered again', { err });
        }
      }
    },
  };
}
