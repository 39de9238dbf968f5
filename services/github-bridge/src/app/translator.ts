import type { EventOf, GithubWebhookReceived, StoredEvent } from '@pep/contracts';
import {
  aggregateFilter,
  aggregateSubject,
  type EventBus,
  eventsOfTypes,
  pgDeadLetters,
  publishEvent,
  startWorker,
  type Worker,
} from '@pep/events';
import type { Logger } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { BridgeDB } from '../db/schema.ts';
import { translateDelivery } from '../domain/webhook/translate.ts';
import { envelope } from './events.ts';

const isDelivery = eventsOfTypes<EventOf<typeof GithubWebhookReceived>>(['github.webhook.received']);

/**
 * Translates kept webhook deliveries into platform events. Event ids derive from the delivery id and the
 * position, so a redelivered message publishes the same ids (deduped by the stream).
 */
export function startTranslator(deps: {
  bus: EventBus;
  db: Kysely<BridgeDB>;
  logger: Logger;
  /** Seconds from a webhook delivery's receipt to its platform events published. */
  onProcessed?: (seconds: number) => void;
}): Promise<Worker> {
  return startWorker({
    bus: deps.bus,
    durable: 'github-bridge-translator',
    filterSubject: aggregateFilter(deps.bus.prefix, 'github_delivery'),
    concurrency: 8,
    deadLetters: pgDeadLetters(deps.db),
    logger: deps.logger,
    handle: async (event: StoredEvent) => {
      // The subject holds only kept deliveries; anything else there is not ours to translate.
      if (!isDelivery(event)) return;
      const d = event.data;
      const out = translateDelivery(d);
      for (const [i, t] of out.entries()) {
        await publishEvent(
          deps.bus,
          aggregateSubject(deps.bus.prefix, t.aggregate, t.id),
          envelope(t.type, `ghe_${d.delivery_id}_${i}`, t.data, d.received_at, {
            causationid: event.id,
            ...(event.traceparent ? { traceparent: event.traceparent } : {}),
          }),
        );
      }
      deps.onProcessed?.((Date.now() - Date.parse(d.received_at)) / 1000);
    },
  });
}
