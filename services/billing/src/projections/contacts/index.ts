import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';
import { BILLING_CONTACTS_PROJECTION } from '../../domain/settings/settings.ts';

export { BILLING_CONTACTS_PROJECTION };

/**
 * What billing keeps of each partner: its name and contact email (the registry's partner.created / partner.updated;
 * the billing contact invoices are mailed to) and its billing time zone (billing.partner_settings_updated).
 */
export function contactsProjection(prefix: string): Projection<BillingDB> {
  return {
    name: BILLING_CONTACTS_PROJECTION,
    filterSubject: aggregateFilter(prefix),
    async apply(trx, events: StoredEvent[]) {
      for (const e of events) {
        if (e.type !== 'partner.created' && e.type !== 'partner.updated' && e.type !== 'billing.partner_settings_updated') continue;
        const d = e.data as { partner_id: string; name?: string; contact_email?: string; timezone?: string };
        const set = {
          ...(d.name !== undefined ? { name: d.name } : {}),
          ...(d.contact_email !== undefined ? { email: d.contact_email } : {}),
          ...(d.timezone !== undefined ? { timezone: d.timezone } : {}),
          seq: e.seq,
        };
        await trx
          .insertInto('billing_contacts')
          .values({ partner_id: d.partner_id, name: null, email: null, timezone: null, ...set })
          .onConflict((oc) => oc.column('partner_id').doUpdateSet(set))
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('billing_contacts').execute();
    },
  };
}

export const contactOf = (db: Kysely<BillingDB>, partnerId: string) =>
  db.selectFrom('billing_contacts').selectAll().where('partner_id', '=', partnerId).executeTakeFirst();

export async function timezoneOf(db: Kysely<BillingDB>, partnerId: string): Promise<string> {
  return (await contactOf(db, partnerId))?.timezone ?? 'UTC';
}
