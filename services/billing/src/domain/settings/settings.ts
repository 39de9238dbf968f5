import type { AggregateKind } from '@pep/events';

export const BILLING_CONTACTS_PROJECTION = 'billing-contacts';

/** A partner's billing settings (keyed by partner): the time zone its invoice periods are cut in (default UTC). */
export interface BillingSettingsState {
  timezone: string;
}
export const settingsAggregate: AggregateKind<BillingSettingsState> = {
  kind: 'billing_partner_settings',
  initial: () => ({ timezone: 'UTC' }),
  evolve: (s, e) => (e.type === 'billing.partner_settings_updated' ? { timezone: (e.data as { timezone: string }).timezone } : s),
  projection: BILLING_CONTACTS_PROJECTION,
};

/** Setting the time zone it already has decides nothing. */
export function decideSettings(c: { partnerId: string; timezone: string }, s: BillingSettingsState) {
  if (s.timezone === c.timezone) return [];
  return [{ type: 'billing.partner_settings_updated' as const, data: { partner_id: c.partnerId, timezone: c.timezone } }];
}
