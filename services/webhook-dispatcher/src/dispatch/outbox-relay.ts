import { aggregateSubject, type EventBus, publishEvent } from '@pep/events';
import { exhaustedEvent } from './delivery-events.ts';
import { type CompletedDelivery, relayOutbox } from './store.ts';
import type { DispatchCore } from './core.ts';

const RELAY_BATCH = 100;

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;

/**
 * The outbox relay: `webhook.delivery.exhausted` rows are written with the transition to failed (in the
 * same statement) and published from here, round after round while full rounds come back. One round at a
 * time per process; what cannot be published stays in the outbox for the next round.
 */
export function createOutboxRelay(o: DispatchCore & { bus: EventBus }) {
  let relaying: Promise<void> | null = null;
  const publish = async (d: CompletedDelivery) => {
    await publishEvent(o.bus, aggregateSubject(o.bus.prefix, 'webhook_delivery', d.id), exhaustedEvent(d, new Date(o.clock())));
  };
  const run = async () => {
    for (;;) {
      const r = await relayOutbox(o.db, publish, RELAY_BATCH, (d, err) =>
        o.metrics.recovered('outbox', 'exhausted event not published yet; the outbox keeps it', { delivery_id: d.id, err }),
      );
      if (r.published < RELAY_BATCH || r.failed) break;
    }
  };
  return {
    relay(): Promise<void> {
      if (relaying) return relaying;
      relaying = run()
        .catch((err: unknown) => o.metrics.recovered('outbox', 'outbox relay failed; it runs again', { err }))
        .finally(() => {
          relaying = null;
        });
      return relaying;
    },
    /** Waits for a round in progress (shutdown). */
    async idle() {
      if (relaying) await relaying;
    },
  };
}
