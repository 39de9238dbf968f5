import type { Logger } from '@pep/runtime';
import type { EndpointCommands } from '../app/endpoints.ts';
import type { EndpointCache } from './endpoint-cache.ts';
import type { Lanes } from './lanes.ts';
import type { DispatchMetrics } from './metrics.ts';
import { endpointsFailingSince } from './store.ts';
import type { HeldWork, Work } from './work.ts';
import type { DispatchCore } from './core.ts';

const heldBefore =
  (before: number) =>
  (w: Work): w is HeldWork =>
    w.kind === 'held' && w.heldSince < before;

/** Disables endpoints through their aggregate (410 Gone, or failing for too long), once at a time each. */
export function createEndpointDisabler(o: { commands: EndpointCommands; cache: EndpointCache; logger: Logger; metrics: DispatchMetrics }) {
  const disabling = new Set<string>();
  return (endpointId: string, reason: 'gone' | 'failing', detail: string) => {
    if (disabling.has(endpointId)) return;
    disabling.add(endpointId);
    o.commands
      .execute(endpointId, { kind: 'DisableEndpoint', reason, detail })
      .then(() => o.logger.warn('endpoint disabled', { endpoint_id: endpointId, reason }))
      .catch((err: unknown) => o.metrics.recovered('disable', 'disabling endpoint failed', { endpoint_id: endpointId, err }))
      .finally(() => {
        disabling.delete(endpointId);
        o.cache.refresh().catch((err: unknown) => o.metrics.recovered('cache', 'refreshing the endpoint cache failed', { err }));
      });
  };
}

/**
 * Sweeps and maintenance. A held delivery must start well before its message's ack deadline; one that waits
 * longer in a slow lane is written down as a pending row (and its message acked). Every `maintenanceMs`: the
 * outbox is relayed and endpoints failing for longer than `disableAfterMs` are disabled.
 */
export function startMaintenance(
  o: DispatchCore & {
    cache: EndpointCache;
    lanes: Lanes;
    ackWaitMs: number;
    maintenanceMs: number;
    disableAfterMs: number;
    demote: (items: HeldWork[]) => Promise<void>;
    relay: () => Promise<void>;
    disable: (endpointId: string, reason: 'failing', detail: string) => void;
  },
) {
  const sweep = setInterval(() => {
    const tooOld = heldBefore(o.clock() - o.ackWaitMs / 3);
    for (const lane of o.lanes.all()) {
      if (!lane.queue.some(tooOld)) continue;
      const old = lane.queue.filter(tooOld);
      lane.queue = lane.queue.filter((w) => !tooOld(w));
      void o.demote(old);
    }
  }, 1000);
  const maintenance = setInterval(async () => {
    try {
      await o.relay();
      const failing = await endpointsFailingSince(o.db, o.disableAfterMs);
      for (const id of failing) {
        if (o.cache.get(id)?.row.enabled) o.disable(id, 'failing', `no successful delivery for ${Math.round(o.disableAfterMs / 1000)} s`);
      }
    } catch (err) {
      o.metrics.recovered('maintenance', 'maintenance failed', { err });
    }
  }, o.maintenanceMs);
  return () => {
    clearInterval(maintenance);
    clearInterval(sweep);
  };
}
