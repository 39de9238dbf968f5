import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type DeadLetterSink, type EventBus, externalSubject, newEvent, publishEvent, startWorker } from '@pep/events';
import type { Logger } from '@pep/runtime';
import { INSTALL_AGGREGATE, isInstallEvent } from '../domain/install/install.ts';

export const SOURCE = 'urn:pep:marketplace';
export const INTEGRATION_WORKER = 'marketplace-integration-events';

/**
 * The business events of an install: `integration.connected` for `install.created`, `integration.disconnected`
 * for `install.removed`, published on the listing partner's external subject (so the partner's webhook
 * subscriptions receive them). A durable worker, not the request, publishes them: a crash after the install's
 * append still publishes, and the dedupe key derived from the install event's id keeps a redelivery from
 * publishing twice (within the stream's duplicate window).
 */
export function integrationEventFor(prefix: string, e: StoredEvent) {
  if (!isInstallEvent(e)) return undefined;
  const d = e.data;
  const common = { source: SOURCE, time: e.time, partnerid: d.partner_id, causationid: e.id, correlationid: e.correlationid };
  if (e.type === 'install.created') {
    return {
      subject: externalSubject(prefix, d.partner_id, 'integration.connected'),
      dedupeKey: `${e.id}:integration.connected`,
      event: newEvent({
        ...common,
        type: 'integration.connected',
        data: {
          integration_id: d.install_id,
          application_id: d.application_id,
          customer_id: d.customer_id,
          connected_by: e.data.installed_by,
          connected_at: d.installed_at,
        },
      }),
    };
  }
  return {
    subject: externalSubject(prefix, d.partner_id, 'integration.disconnected'),
    dedupeKey: `${e.id}:integration.disconnected`,
    event: newEvent({
      ...common,
      type: 'integration.disconnected',
      data: {
        integration_id: d.install_id,
        application_id: d.application_id,
        customer_id: d.customer_id,
        reason: 'uninstalled',
        initiated_by: 'platform',
        disconnected_at: e.data.removed_at,
      },
    }),
  };
}

export function startIntegrationEvents(opts: { bus: EventBus; logger: Logger; deadLetters: DeadLetterSink; concurrency: number }) {
  return startWorker({
    bus: opts.bus,
    durable: INTEGRATION_WORKER,
    filterSubject: aggregateFilter(opts.bus.prefix, INSTALL_AGGREGATE),
    concurrency: opts.concurrency,
    deadLetters: opts.deadLetters,
    logger: opts.logger,
    handle: async (e) => {
      const out = integrationEventFor(opts.bus.prefix, e);
      if (out) await publishEvent(opts.bus, out.subject, out.event, out.dedupeKey);
    },
  });
}
