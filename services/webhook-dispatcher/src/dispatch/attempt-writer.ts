import type { HeldLedger } from './held-ledger.ts';
import { settle } from './held-message.ts';
import { type AttemptResult, type CompletedDelivery, completeAttempts, recordHealth, recordSent, type SentDelivery } from './store.ts';
import { type TrafficMeta, type TrafficRollups, trafficClass } from './traffic.ts';
import { distinctEvents, type HeldWork } from './work.ts';
import type { DispatchCore } from './core.ts';

/** Attempt records are not on the delivery path: gathered for a few ms so they cost a few commits a second. */
const WRITER_GATHER_MS = 20;
const WRITE_BATCH = 500;
/** An endpoint's health row is rewritten when it flips between failing and succeeding, or this often. */
const HEALTH_EVERY_MS = 5000;

export type AttemptWriter = ReturnType<typeof createAttemptWriter>;

/**
 * The writer: records attempts in batches. Every transition of a claimed row is guarded by its lease token;
 * a held delivery's record settles its message (acked once all its deliveries are recorded, given back when
 * the record failed). `onRecorded` gets each batch's deliveries in their new state.
 */
export function createAttemptWriter(
  o: DispatchCore & {
    ledger: HeldLedger;
    onRecorded: (done: CompletedDelivery[]) => void;
    /** Counts the attempts that were recorded (the traffic rollups). */
    traffic?: TrafficRollups | undefined;
  },
) {
  const results: (AttemptResult & { meta: TrafficMeta })[] = [];
  const sent: (SentDelivery & { work: HeldWork; meta: TrafficMeta })[] = [];

  /** Counts what a batch recorded: attempts whose record was refused (a lost lease, a repeat) are not counted. */
  const count = (done: CompletedDelivery[], recorded: Map<string, { result: AttemptResult; meta: TrafficMeta }>) => {
    if (!o.traffic) return;
    const at = o.clock();
    for (const d of done) {
      const x = recorded.get(d.id);
      if (!x) continue;
      o.traffic.count(at, d.endpoint_id, x.meta, {
        cls: trafficClass(x.result),
        latencyMs: x.result.latency_ms,
        succeeded: d.status === 'succeeded',
        exhausted: d.status === 'failed',
      });
    }
  };
  const reportedHealth = new Map<string, { ok: boolean; at: number }>();
  let writing: Promise<void> | null = null;

  /** One retry after half a second; then the failure is logged and counted, and `undefined` returned. */
  const withRetry = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      o.metrics.recovered('writer', `${what} failed, retrying`, { err });
      await new Promise((r) => setTimeout(r, 500));
      try {
        return await fn();
      } catch (e) {
        o.metrics.recovered('writer', `${what} failed`, { err: e });
        return undefined;
      }
    }
  };

  /** Which endpoints' health rows change (a busy endpoint does not cost a write per batch). */
  const healthChanges = (outcomes: AttemptResult[]) => {
    const health = new Map<string, boolean>();
    for (const r of outcomes) health.set(r.endpoint_id, (health.get(r.endpoint_id) ?? false) || r.outcome === 'succeeded');
    const now = o.clock();
    for (const [id, okNow] of health) {
      const last = reportedHealth.get(id);
      if (last && last.ok === okNow && now - last.at < HEALTH_EVERY_MS) health.delete(id);
      else reportedHealth.set(id, { ok: okNow, at: now });
    }
    return health;
  };

  const flush = async () => {
    while (results.length || sent.length) {
      const batch = results.splice(0, WRITE_BATCH);
      const sentBatch = sent.splice(0, WRITE_BATCH);
      const recordSentBatch = async () => {
        const x = await withRetry('recording sent deliveries', () =>
          recordSent(o.db, distinctEvents(sentBatch.map((s) => s.work)), sentBatch),
        );
        o.ledger.release(sentBatch.map((s) => s.work));
        for (const s of sentBatch) settle(s.work.msg, x !== undefined);
        return x ?? [];
      };
      const [claimedDone, sentDone] = await Promise.all([
        // A claimed row that cannot be recorded keeps its lease until it expires; then it is retried.
        batch.length ? withRetry('recording attempts', () => completeAttempts(o.db, batch)).then((x) => x ?? []) : [],
        sentBatch.length ? recordSentBatch() : [],
      ]);
      try {
        await recordHealth(o.db, healthChanges([...batch, ...sentBatch.map((x) => x.result)]));
      } catch (err) {
        o.metrics.recovered('writer', 'recording endpoint health failed', { err });
      }
      if (o.traffic) {
        const recorded = new Map<string, { result: AttemptResult; meta: TrafficMeta }>();
        for (const r of batch) recorded.set(r.id, { result: r, meta: r.meta });
        for (const x of sentBatch) recorded.set(x.result.id, { result: x.result, meta: x.meta });
        count([...claimedDone, ...sentDone], recorded);
      }
      o.onRecorded([...claimedDone, ...sentDone]);
    }
  };

  const ensure = () => {
    if (writing) return;
    writing = new Promise<void>((resolve) => setTimeout(resolve, WRITER_GATHER_MS)).then(flush).finally(() => {
      writing = null;
      if (results.length || sent.length) ensure();
    });
  };

  return {
    /** An attempt of a claimed row. */
    claimed(result: AttemptResult, meta: TrafficMeta) {
      results.push({ ...result, meta });
      ensure();
    },
    /** A first attempt sent straight from the stream (its row is created with the record). */
    sent(work: HeldWork, result: AttemptResult, meta: TrafficMeta) {
      sent.push({ delivery: work.delivery, result, work, meta });
      ensure();
    },
    /** Records everything gathered so far (shutdown). */
    async drain() {
      if (writing) await writing;
      await flush();
    },
  };
}
