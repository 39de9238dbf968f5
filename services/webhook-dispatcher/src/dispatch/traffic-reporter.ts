import { hostname } from 'node:os';
import { type EventBus, publishEvent } from '@pep/events';
import type { DispatchCore } from './core.ts';
import { insertOutboxEvents, relayEventOutbox, takeBackUnfinished } from './event-outbox.ts';
import { minuteOf, TrafficRollups } from './traffic.ts';

const RELAY_BATCH = 100;
/** How often the running minute is checked for its end (a cheap comparison when nothing is due). */
const TICK_MS = 1000;

let dispatchersInProcess = 0;

/** This replica's reporter id: the configured one, or `<host>-<pid>` (plus a counter for more dispatchers in one process). */
export function defaultReporter(): string {
  const n = dispatchersInProcess++;
  const base = `${hostname()
    .replace(/[^A-Za-z0-9_-]/g, '-')
    .slice(0, 40)}-${process.pid}`;
  return n === 0 ? base : `${base}-${n}`;
}

export type TrafficReporter = Awaited<ReturnType<typeof startTrafficReporter>>;

/**
 * Traffic rollups and the general event outbox: counts live in memory per endpoint and minute; once a minute is
 * over they go to the outbox (one row per endpoint, deterministic id) and the relay publishes them, as it
 * publishes the integration errors the writer puts there with their attempts. At shutdown (SIGTERM) the running
 * minute goes to the outbox too, waiting for its end; a restart of the same reporter within it takes it back, so
 * each (endpoint, minute, reporter) is published once with every attempt counted. A kill -9 loses the counts of
 * the minutes not flushed yet (at most the running one).
 */
export async function startTrafficReporter(o: DispatchCore & { bus: EventBus; reporter: string }) {
  const rollups = new TrafficRollups(o.reporter, o.bus.prefix);
  for (const ev of await takeBackUnfinished(o.db, o.reporter, new Date(o.clock()))) rollups.merge(ev);

  let relaying: Promise<void> | null = null;
  const publish = async (row: { subject: string; event: Parameters<typeof publishEvent>[2] }) => {
    await publishEvent(o.bus, row.subject, row.event);
  };
  const runRelay = async () => {
    for (;;) {
      const r = await relayEventOutbox(o.db, publish, new Date(o.clock()), RELAY_BATCH, (id, err) =>
        o.metrics.recovered('outbox', 'outbox event not published yet; the outbox keeps it', { id, err }),
      );
      if (r.published < RELAY_BATCH || r.failed) break;
    }
  };
  const relay = (): Promise<void> => {
    if (relaying) return relaying;
    relaying = runRelay()
      .catch((err: unknown) => o.metrics.recovered('outbox', 'event outbox relay failed; it runs again', { err }))
      .finally(() => {
        relaying = null;
      });
    return relaying;
  };

  let flushing: Promise<void> | null = null;
  /** Moves the rollups of ended minutes to the outbox; kept in memory (and retried) when the write fails. */
  const flushEnded = async () => {
    const rows = rollups.drainBefore(minuteOf(o.clock()));
    if (rows.length === 0) return;
    try {
      await insertOutboxEvents(o.db, rows);
    } catch (err) {
      for (const r of rows) rollups.merge(r.event);
      o.metrics.recovered('traffic', 'writing traffic rollups failed; they are written with the next minute', { err });
      return;
    }
    await relay();
  };
  const tick = setInterval(() => {
    if (flushing) return;
    flushing = flushEnded().finally(() => {
      flushing = null;
    });
  }, TICK_MS);
  void relay(); // what a previous run left

  return {
    rollups,
    relay,
    /** After the writer drained: every count to the outbox (the running minute waits for its end), due rows published. */
    async stop() {
      clearInterval(tick);
      if (flushing) await flushing;
      const rows = rollups.drainAll(o.clock());
      try {
        await insertOutboxEvents(o.db, rows);
      } catch (err) {
        o.metrics.recovered('traffic', 'writing traffic rollups at shutdown failed; these counts are lost', { err, rollups: rows.length });
      }
      await relay();
    },
  };
}
