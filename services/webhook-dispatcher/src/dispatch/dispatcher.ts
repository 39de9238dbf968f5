import type { DeadLetterSink, EventBus, ProjectionRunner } from '@pep/events';
import { resumeOnReconnect } from '@pep/events';
import type { Logger, Metrics } from '@pep/runtime';
import { createSafeDispatcher, type SsrfPolicy } from '@pep/webhooks';
import type { Kysely } from 'kysely';
import type { EndpointCommands } from '../app/endpoints.ts';
import type { DispatcherDB } from '../db/schema.ts';
import type { MappingCache } from '../projections/integration-mappings/index.ts';
import { createAttemptWriter } from './attempt-writer.ts';
import type { BreakerOptions } from './circuit-breaker.ts';
import type { Clock } from './clock.ts';
import { consumerLag, createDecoder, endpointWatermark, type IntakeConsumerOptions, intakeConsumer } from './consumer.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import { createHeldLedger } from './held-ledger.ts';
import { createIntake } from './intake.ts';
import { createLanes, type Lane } from './lanes.ts';
import { createEndpointDisabler, startMaintenance } from './maintenance.ts';
import { createDispatchMetrics } from './metrics.ts';
import { createOutboxRelay } from './outbox-relay.ts';
import { createPoller } from './poller.ts';
import { defaultReporter, startTrafficReporter } from './traffic-reporter.ts';
import { maxAttempts, type RetryPolicy } from './retry-policy.ts';
import { createSender } from './sender.ts';
import type { SharedRateLimiter } from './shared-rate-limiter.ts';
import { pendingCount, releaseLeases } from './store.ts';
import type { HeldWork, Work } from './work.ts';

export interface DispatcherOptions {
  db: Kysely<DispatcherDB>;
  bus: EventBus;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  cache: EndpointCache;
  commands: EndpointCommands;
  deadLetters: DeadLetterSink;
  endpointsProjection: () => ProjectionRunner | undefined;
  ssrf: SsrfPolicy;
  retry: RetryPolicy;
  consumer: IntakeConsumerOptions;
  endpointConcurrency: number;
  maxInFlight: number;
  pollMs: number;
  maintenanceMs: number;
  leaseExtraMs: number;
  disableAfterMs: number;
  breaker: BreakerOptions;
  /** Per-endpoint rate limits shared by all replicas (Redis); without it each process limits on its own. */
  sharedRate?: SharedRateLimiter | undefined;
  /** Integrations' compiled field mappings (endpoints that name an integration get mapped bodies). */
  mappings?: MappingCache | undefined;
  /** This replica's id in traffic rollups (`reporter`); default `<host>-<pid>`. */
  reporter?: string | undefined;
}

export interface RunningDispatcher {
  stop(): Promise<void>;
  /** Polls for due deliveries now (after a resend, recover or replay). */
  nudge(): void;
}

const claimedOf = (items: Work[]) => items.flatMap((w) => (w.kind === 'claimed' ? [{ id: w.id, token: w.lease_token }] : []));
const heldOf = (items: Work[]) => items.filter((w): w is HeldWork => w.kind === 'held');

/**
 * The delivery engine of one dispatcher process, composed of: intake (consumer.ts, intake.ts, the pure
 * batch-planner.ts), lanes (lanes.ts), the held-message ledger (held-ledger.ts), the sender (sender.ts), the
 * writer (attempt-writer.ts), the poller (poller.ts), the outbox relay (outbox-relay.ts) and sweeps
 * (maintenance.ts). Delivery ids are derived from (endpoint, event), so a repeat after a crash carries the
 * same webhook-id. See docs/webhooks.md for the delivery guarantees.
 */
export async function startDispatcher(o: DispatcherOptions): Promise<RunningDispatcher> {
  const { db, bus, logger, clock, cache } = o;
  const agent = createSafeDispatcher(o.ssrf, { keepAliveTimeout: 30_000, connectTimeoutMs: 10_000 });
  let stopped = false;
  const isStopped = () => stopped;
  const leaseMsFor = (timeoutMs: number) => timeoutMs + o.leaseExtraMs;

  const lanes = createLanes({
    clock,
    endpointConcurrency: o.endpointConcurrency,
    maxInFlight: o.maxInFlight,
    breaker: o.breaker,
    sharedRate: o.sharedRate,
    isStopped,
    run: (lane, w) => send(lane, w),
    onCrash: (err, w) => m.recovered('attempt', 'attempt crashed', { err, delivery_id: w.id }),
    giveBack: (items) => giveBack(items),
    refill: () => poller.nudge(),
  });
  const m = createDispatchMetrics(o.metrics, logger, {
    circuits: () => [...lanes.all()].map((l) => ({ endpointId: l.endpointId, state: l.breaker.state })),
    held: () => ledger.count,
    inFlight: () => lanes.inFlight,
    pending: () => pendingCount(db),
    consumerLag: () => consumerLag(bus, o.consumer.durable),
  });
  const ledger = createHeldLedger({
    db,
    logger,
    markBacklog: lanes.markBacklog,
    onWriteFailed: () => m.recovered('held', 'held deliveries not written down'),
  });
  const releaseLeasesLogged = (claimed: { id: string; token: string }[]) =>
    releaseLeases(db, claimed).catch((err: unknown) => m.recovered('leases', 'releasing leases failed (they expire anyway)', { err }));
  /** Gives back what a lane has not started: claimed rows lose their lease, held deliveries become rows. */
  const giveBack = (items: Work[]) => {
    if (items.length === 0) return;
    const claimed = claimedOf(items);
    if (claimed.length) void releaseLeasesLogged(claimed);
    void ledger.demote(heldOf(items));
  };
  const releaseQueue = (lane: Lane) => giveBack(lanes.drain(lane));

  const outbox = createOutboxRelay({ db, bus, clock, metrics: m });
  const traffic = await startTrafficReporter({ db, bus, clock, metrics: m, reporter: o.reporter ?? defaultReporter() });
  const writer = createAttemptWriter({
    db,
    clock,
    metrics: m,
    ledger,
    traffic: traffic.rollups,
    onRecorded: (done) => {
      let exhausted = false;
      let failed = false;
      for (const d of done) {
        m.deliveries.inc({ outcome: d.status === 'pending' ? 'retrying' : d.status });
        if (d.status === 'failed') exhausted = true;
        if (d.status !== 'succeeded') failed = true;
      }
      if (exhausted) void outbox.relay();
      if (failed) void traffic.relay(); // integration errors recorded with their attempts
    },
  });
  const disable = createEndpointDisabler({ commands: o.commands, cache, logger, metrics: m });
  const send = createSender({
    db,
    bus,
    agent,
    clock,
    cache,
    mappings: o.mappings,
    metrics: m,
    ledger,
    writer,
    retry: o.retry,
    ackWaitMs: o.consumer.ackWaitMs,
    leaseMsFor,
    releaseQueue,
    disableEndpoint: disable,
  });
  const poller = createPoller({ db, cache, lanes, clock, metrics: m, pollMs: o.pollMs, leaseMsFor, isStopped });

  const consumer = await intakeConsumer(bus, o.consumer, logger);
  const intake = createIntake({
    db,
    consumer,
    clock,
    cache,
    lanes,
    ledger,
    metrics: m,
    attemptBudget: maxAttempts(o.retry),
    decode: createDecoder({ durable: o.consumer.durable, deadLetters: o.deadLetters, metrics: m }),
    watermark: endpointWatermark(bus),
    endpointsProjection: o.endpointsProjection,
    isStopped,
    nudge: poller.nudge,
  });
  // After a broker restart, consume afresh as soon as the durable answers (nats.js alone may wait 30 s).
  const stopResume = resumeOnReconnect({ bus, durable: o.consumer.durable, messages: intake.messages, logger });
  poller.nudge();
  const stopMaintenance = startMaintenance({
    db,
    clock,
    cache,
    lanes,
    metrics: m,
    ackWaitMs: o.consumer.ackWaitMs,
    maintenanceMs: o.maintenanceMs,
    disableAfterMs: o.disableAfterMs,
    demote: ledger.demote,
    relay: () => Promise.all([outbox.relay(), traffic.relay()]).then(() => undefined),
    disable,
  });
  void outbox.relay(); // what a previous run left in the outbox

  return {
    nudge: poller.nudge,
    async stop() {
      stopped = true;
      stopResume();
      stopMaintenance();
      poller.stop();
      await intake.stop();
      // What is queued and not started goes back: claimed rows lose their lease, held deliveries are written
      // down as pending rows (and their messages acked), for another replica or the next start.
      const queued: Work[] = [];
      for (const l of lanes.all()) {
        if (l.timer) clearTimeout(l.timer);
        queued.push(...lanes.drain(l));
      }
      const demoted = ledger.demote(heldOf(queued));
      const deadline = clock() + 5000;
      while (lanes.inFlight > 0 && clock() < deadline) await new Promise((r) => setTimeout(r, 20));
      await writer.drain();
      await releaseLeasesLogged(claimedOf(queued));
      await demoted;
      await traffic.stop();
      await outbox.idle();
      try {
        await agent.close();
      } catch (err) {
        logger.debug('closing the HTTP agent failed', { err });
      }
    },
  };
}
