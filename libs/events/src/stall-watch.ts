import type { ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { type ConnectionLogger, type EventBus, watchConnection } from './connection.ts';

export type RecreateReason = 'stalled' | 'reconnect' | 'consumer_not_found' | 'consumer_deleted' | 'heartbeats_missed';

export interface StallState {
  /** Events of the filter in the stream that are not applied yet (0 when caught up; -1 when unknown). */
  behind: number;
  /** How long it has been behind without any progress (ms; 0 when caught up or progressing). */
  stalledForMs: number;
  /** How long since it last reached the stream's end as measured then (ms; 0 when caught up). */
  behindForMs: number;
  /** The stream could not be asked (broker away): its message. */
  unknown?: string;
  /** Consumers recreated so far, and why the last one was. */
  recreated: number;
  lastRecreateReason?: RecreateReason;
}

/** Every running watch's last applied sequence, by name (`projection_applied_seq`; in-memory folds included). */
const positions = new Map<string, () => number>();

/** The last sequence each watched consumer of this process has applied (or folded into memory), by name. */
export function appliedPositions(): { name: string; applied: number }[] {
  return [...positions].map(([name, applied]) => ({ name, applied: applied() }));
}

/**
 * The watchdog of one ordered consumer. nats.js's ordered consumer recovers from a broker restart on its own,
 * but on nats-server 2.9 it can sit for ~45 s (`consumer_not_found` → reset → one message → waits for missed
 * heartbeats). This watch recreates the consumer (the caller's `recreate`, which restarts from its checkpoint):
 * at once when the connection comes back or the consumer reports it is gone, and whenever the consumer is
 * behind the stream and has made no progress for `stallMs`. Each recreation is counted and logged.
 */
export function startStallWatch(opts: {
  name: string;
  nc: NatsConnection;
  logger: ConnectionLogger;
  /** Last sequence applied (or folded). */
  applied: () => number;
  /** Last sequence of the filter in the stream. */
  target: () => Promise<number>;
  /** Why recreating would not help now (e.g. the database is away); undefined otherwise. */
  paused?: () => string | undefined;
  recreate: (reason: RecreateReason) => void;
  onRecreate?: (reason: RecreateReason) => void;
  stallMs?: number;
  checkMs?: number;
}): { state(): StallState; progress(): void; watch(messages: ConsumerMessages): void; stop(): void } {
  const stallMs = opts.stallMs ?? 5000;
  const checkMs = opts.checkMs ?? Math.min(1000, stallMs / 2);
  let lastApplied = opts.applied();
  let lastProgressAt = Date.now();
  let behindSince = 0;
  let markTarget = 0;
  let behind = 0;
  let unknown: string | undefined;
  let recreated = 0;
  let lastReason: RecreateReason | undefined;
  let stopped = false;
  let checking = false;

  let lastRecreateAt = 0;
  const recreate = (reason: RecreateReason) => {
    // A reconnect and the old consumer's `consumer_not_found` arrive together: one recreation serves both.
    if (stopped || Date.now() - lastRecreateAt < 500) return;
    lastRecreateAt = Date.now();
    recreated++;
    lastReason = reason;
    lastProgressAt = Date.now();
    opts.logger.warn('consumer recreated from checkpoint', { projection: opts.name, reason, applied: opts.applied(), behind });
    opts.onRecreate?.(reason);
    opts.recreate(reason);
  };

  const check = async () => {
    if (stopped || checking) return;
    checking = true;
    try {
      const now = Date.now();
      const applied = opts.applied();
      if (applied > lastApplied) {
        lastApplied = applied;
        lastProgressAt = now;
      }
      let target: number;
      try {
        target = await opts.target();
        unknown = undefined;
      } catch (err) {
        unknown = err instanceof Error ? err.message : String(err);
        behind = -1;
        return;
      }
      behind = Math.max(0, target - opts.applied());
      if (behind === 0) {
        behindSince = 0;
        markTarget = 0;
        lastProgressAt = now;
        return;
      }
      // Under steady load a projection is never exactly at the stream's end when asked; it is lagging only when it
      // has not reached, for a long time, the end the stream had when it was last measured.
      if (behindSince === 0 || opts.applied() >= markTarget) {
        behindSince = now;
        markTarget = target;
      }
      if (now - lastProgressAt >= stallMs && !opts.paused?.()) recreate('stalled');
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), checkMs);
  timer.unref();
  positions.set(opts.name, opts.applied);
  const unsubscribe = watchConnection(opts.nc, opts.logger).on((s) => {
    if (s.type === 'reconnect') recreate('reconnect');
  });

  return {
    state: () => ({
      behind,
      stalledForMs: behind > 0 ? Date.now() - lastProgressAt : 0,
      behindForMs: behind > 0 && behindSince ? Date.now() - behindSince : 0,
      ...(unknown ? { unknown } : {}),
      recreated,
      ...(lastReason ? { lastRecreateReason: lastReason } : {}),
    }),
    progress() {
      lastProgressAt = Date.now();
    },
    /** Follows one consume's notifications: a consumer the server no longer knows is recreated at once. */
    watch(messages) {
      void (async () => {
        for await (const s of messages.status()) {
          if (stopped) return;
          if (s.type === 'consumer_not_found' || s.type === 'consumer_deleted' || s.type === 'heartbeats_missed') {
            recreate(s.type);
            return;
          }
        }
      })().catch((err: unknown) => opts.logger.warn('consumer status watch ended with an error', { projection: opts.name, err }));
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      if (positions.get(opts.name) === opts.applied) positions.delete(opts.name);
      unsubscribe();
    },
  };
}

/**
 * For a durable pull consumer's consume loop: after the broker comes back, nats.js checks the consumer once and,
 * if JetStream is not answering yet, waits a whole `expires` (30 s) before pulling again. This waits (bounded,
 * polling every 250 ms) until the durable consumer answers, then stops the current `messages` so the caller's loop
 * consumes afresh at once. Returns the unsubscribe.
 */
export function resumeOnReconnect(opts: {
  bus: EventBus;
  durable: string;
  messages: () => ConsumerMessages | undefined;
  logger: ConnectionLogger;
  onResume?: () => void;
  maxWaitMs?: number;
}): () => void {
  let stopped = false;
  const unsubscribe = watchConnection(opts.bus.nc, opts.logger).on((s) => {
    if (s.type !== 'reconnect') return;
    void (async () => {
      const deadline = Date.now() + (opts.maxWaitMs ?? 30_000);
      while (!stopped && Date.now() < deadline) {
        const ready = await opts.bus.jsm.consumers
          .info(opts.bus.stream, opts.durable)
          .then(() => true)
          .catch(() => false);
        if (ready) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      if (stopped) return;
      opts.logger.warn('consumer resumed after reconnect', { consumer: opts.durable });
      opts.onResume?.();
      opts.messages()?.stop();
    })();
  });
  return () => {
    stopped = true;
    unsubscribe();
  };
}
