import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { BillingDB } from '../../db/schema.ts';

export const ATTRIBUTION_PROJECTION = 'billing-revenue-attribution';

interface Install {
  install_id: string;
  partner_id: string;
  customer_id: string;
  installed_at: string;
  removed_at?: string;
}
interface Agreement {
  partner_id: string;
  agreement_id: string;
  version: number;
  effective_at: string;
  revenue_share: { first_year_pct: number; renewal_pct: number };
}

/**
 * What revenue share needs from other contexts: which partner's listing each platform customer installed (and
 * when: the start of its first contract year), from marketplace's install.* events, and each partner's
 * revenue-share terms by effective time, from partner.agreement_signed.
 */
export function attributionProjection(prefix: string): Projection<BillingDB> {
  return {
    name: ATTRIBUTION_PROJECTION,
    filterSubject: aggregateFilter(prefix),
    tables: ['customer_installs', 'revenue_share_terms'],
    async apply(trx, events: StoredEvent[]) {
      for (const e of events) {
        if (e.type === 'install.created') {
          const d = e.data as Install;
          await trx
            .insertInto('customer_installs')
            .values({
              install_id: d.install_id,
              customer_id: d.customer_id,
              partner_id: d.partner_id,
              installed_at: new Date(d.installed_at),
              removed_at: null,
            })
            .onConflict((oc) => oc.column('install_id').doNothing())
            .execute();
        } else if (e.type === 'install.removed') {
          const d = e.data as Install;
          await trx
            .updateTable('customer_installs')
            .set({ removed_at: new Date(d.removed_at ?? e.time) })
            .where('install_id', '=', d.install_id)
            .execute();
        } else if (e.type === 'partner.agreement_signed') {
          const d = e.data as Agreement;
          await trx
            .insertInto('revenue_share_terms')
            .values({
              partner_id: d.partner_id,
              agreement_id: `${d.agreement_id}#${d.version}`,
              effective_at: new Date(d.effective_at),
              first_year_pct: String(d.revenue_share.first_year_pct),
              renewal_pct: String(d.revenue_share.renewal_pct),
            })
            .onConflict((oc) => oc.columns(['partner_id', 'agreement_id']).doNothing())
            .execute();
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('customer_installs').execute();
      await trx.deleteFrom('revenue_share_terms').execute();
    },
  };
}
