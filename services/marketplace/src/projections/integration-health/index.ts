import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Transaction } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';

export const INTEGRATION_HEALTH_PROJECTION = 'marketplace-integration-health';

/**
 * What an integration event on the registry's integration subjects says of that integration's health:
 * connected → up, failed → down, health_checked → the status checked (up, degraded, down), disconnected → gone
 * (it no longer counts for or against its application). Pure; `null`: not an integration health event.
 */
export function integrationHealthOf(e: {
  type: string;
  data: unknown;
}): { integration_id: string; application_id: string | null; status: 'up' | 'degraded' | 'down' | 'gone' } | null {
  const d = e.data as { integration_id?: unknown; application_id?: unknown; status?: unknown };
  if (typeof d?.integration_id !== 'string') return null;
  const app = typeof d.application_id === 'string' ? d.application_id : null;
  switch (e.type) {
    case 'integration.connected':
      return { integration_id: d.integration_id, application_id: app, status: 'up' };
    case 'integration.failed':
      return { integration_id: d.integration_id, application_id: app, status: 'down' };
    case 'integration.disconnected':
      return { integration_id: d.integration_id, application_id: app, status: 'gone' };
    case 'integration.health_checked':
      return d.status === 'up' || d.status === 'degraded' || d.status === 'down'
        ? { integration_id: d.integration_id, application_id: app, status: d.status }
        : null;
    default:
      return null;
  }
}

/**
 * The latest health of each integration of an application, from the registry's integration aggregate
 * (`<prefix>.agg.integration.>`), for the featured criteria: a listing whose application has an integration
 * that is down or degraded is not featured by the criteria. An event without an application id keeps the one an
 * earlier event of the integration named (and is skipped when none did).
 */
export function integrationHealthProjection(prefix: string): Projection<MarketplaceDB> {
  return {
    name: INTEGRATION_HEALTH_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'integration'),
    tables: ['integration_health'],
    async apply(trx: Transaction<MarketplaceDB>, events: StoredEvent[]) {
      for (const e of events) {
        const h = integrationHealthOf(e);
        if (!h) continue;
        if (h.status === 'gone') {
          await trx.deleteFrom('integration_health').where('integration_id', '=', h.integration_id).execute();
          continue;
        }
        if (h.application_id === null) {
          await trx
            .updateTable('integration_health')
            .set({ status: h.status, seq: e.seq })
            .where('integration_id', '=', h.integration_id)
            .execute();
          continue;
        }
        await trx
          .insertInto('integration_health')
          .values({ integration_id: h.integration_id, application_id: h.application_id, status: h.status, seq: e.seq })
          .onConflict((oc) =>
            oc.column('integration_id').doUpdateSet({ application_id: h.application_id ?? '', status: h.status, seq: e.seq }),
          )
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('integration_health').execute();
    },
  };
}
