import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { MarketplaceDB } from '../../db/schema.ts';
import { INSTALL_AGGREGATE, isInstallEvent } from '../../domain/install/install.ts';
import { emptyStats, evolveStats, type ListingStats } from '../../domain/listing/trending.ts';

export const INSTALLS_PROJECTION = 'marketplace-installs';

/**
 * Installs and, per listing, active and total install counts and the trending weight. Each batch folds its
 * events per listing in stream order from the stored stats (`evolveStats`), so the stored numbers equal a fold
 * of the stream from the start, rebuilds included.
 */
export function installsProjection(prefix: string): Projection<MarketplaceDB> {
  return {
    name: INSTALLS_PROJECTION,
    filterSubject: aggregateFilter(prefix, INSTALL_AGGREGATE),
    async apply(trx: Transaction<MarketplaceDB>, events: StoredEvent[]) {
      const installEvents = events.filter(isInstallEvent);
      if (installEvents.length === 0) return;
      for (const e of installEvents) {
        const d = e.data;
        if (e.type === 'install.created') {
          await trx
            .insertInto('installs')
            .values({
              install_id: d.install_id,
              listing_id: d.listing_id,
              application_id: d.application_id,
              partner_id: d.partner_id,
              customer_id: d.customer_id,
              active: true,
              installed_at: d.installed_at,
              removed_at: null,
              seq: e.seq,
            })
            .execute();
        } else {
          await trx
            .updateTable('installs')
            .set({ active: false, removed_at: e.data.removed_at, seq: e.seq })
            .where('install_id', '=', d.install_id)
            .execute();
        }
      }
      const listingIds = [...new Set(installEvents.map((e) => e.data.listing_id))];
      const stored = await trx.selectFrom('listing_stats').selectAll().where('listing_id', 'in', listingIds).execute();
      const stats = new Map<string, ListingStats & { seq: number }>();
      for (const s of stored) stats.set(s.listing_id, { ...s, seq: s.updated_seq });
      for (const e of installEvents) {
        const id = e.data.listing_id;
        const before = stats.get(id) ?? { ...emptyStats(), seq: 0 };
        stats.set(id, { ...evolveStats(before, e), seq: e.seq });
      }
      for (const [listing_id, s] of stats) {
        const row = {
          active_installs: s.active_installs,
          total_installs: s.total_installs,
          trend_weight: s.trend_weight,
          updated_seq: s.seq,
        };
        await trx
          .insertInto('listing_stats')
          .values({ listing_id, ...row })
          .onConflict((oc) => oc.column('listing_id').doUpdateSet(row))
          .execute();
      }
    },
    tables: ['installs', 'listing_stats'],
    async reset(trx) {
      await trx.deleteFrom('listing_stats').execute();
      await trx.deleteFrom('installs').execute();
    },
  };
}

export interface InstallRow {
  install_id: string;
  listing_id: string;
  application_id: string;
  partner_id: string;
  customer_id: string;
  active: boolean;
  installed_at: Date;
  removed_at: Date | null;
}

export async function listInstalls(
  db: Kysely<MarketplaceDB>,
  f: { partnerId: string | undefined; listingId?: string; customerId?: string; active?: boolean; limit: number; startingAfter?: string },
): Promise<InstallRow[]> {
  let q = db
    .selectFrom('installs')
    .select(['install_id', 'listing_id', 'application_id', 'partner_id', 'customer_id', 'active', 'installed_at', 'removed_at'])
    .orderBy('install_id', 'asc')
    .limit(f.limit + 1);
  if (f.partnerId !== undefined) q = q.where('partner_id', '=', f.partnerId);
  if (f.listingId) q = q.where('listing_id', '=', f.listingId);
  if (f.customerId) q = q.where('customer_id', '=', f.customerId);
  if (f.active !== undefined) q = q.where('active', '=', f.active);
  if (f.startingAfter) q = q.where('install_id', '>', f.startingAfter);
  return q.execute();
}
