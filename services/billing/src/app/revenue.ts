import type { Kysely } from 'kysely';
import type Stripe from 'stripe';
import type { BillingDB } from '../db/schema.ts';
import { StripeUnavailableError } from './stripe-client.ts';

interface Totals {
  currency: string;
  charges: number;
  gross: number;
  refunded: number;
  net: number;
}
const empty = (currency: string): Totals => ({ currency, charges: 0, gross: 0, refunded: 0, net: 0 });
const addTo = (t: Totals, c: Stripe.Charge) => {
  t.charges++;
  t.gross += c.amount;
  t.refunded += c.amount_refunded;
  t.net = t.gross - t.refunded;
};

/**
 * Revenue in a time range straight from Stripe: every page of charges (auto-pagination, 100 a page, not only the
 * first), succeeded charges only, refunded amounts excluded. A charge is attributed as billing synced it from its
 * webhooks (install or referral), else by its `metadata.partner_id`; a partner sees only what is attributed to it.
 */
export async function revenueReport(
  deps: { db: Kysely<BillingDB>; stripe: Stripe },
  q: { from: Date; to: Date; partnerId: string | undefined },
) {
  const charges: Stripe.Charge[] = [];
  let read = 0;
  try {
    const list = deps.stripe.charges.list({
      created: { gte: Math.floor(q.from.getTime() / 1000), lt: Math.ceil(q.to.getTime() / 1000) },
      limit: 100,
    });
    for await (const c of list) {
      read++;
      if (c.status === 'succeeded') charges.push(c);
    }
  } catch (err) {
    throw new StripeUnavailableError('Stripe charges could not be listed; try again', { cause: err });
  }
  const synced = new Map<string, string | null>();
  for (let i = 0; i < charges.length; i += 500) {
    const ids = charges.slice(i, i + 500).map((c) => c.id);
    const rows = await deps.db.selectFrom('stripe_charges').select(['id', 'partner_id', 'attribution']).where('id', 'in', ids).execute();
    for (const r of rows) synced.set(r.id, r.partner_id);
  }
  const totals = new Map<string, Totals>();
  const byPartner = new Map<string, Totals & { partner_id: string | null }>();
  for (const c of charges) {
    const partner = synced.has(c.id) ? (synced.get(c.id) ?? null) : (c.metadata.partner_id ?? null);
    if (q.partnerId !== undefined && partner !== q.partnerId) continue;
    const cur = c.currency.toUpperCase();
    const t = totals.get(cur) ?? empty(cur);
    totals.set(cur, t);
    addTo(t, c);
    const key = `${partner ?? ''}|${cur}`;
    const p = byPartner.get(key) ?? { ...empty(cur), partner_id: partner };
    byPartner.set(key, p);
    addTo(p, c);
  }
  return {
    object: 'revenue' as const,
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    partner_id: q.partnerId ?? null,
    charges_read: read,
    totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
    by_partner: [...byPartner.values()].sort(
      (a, b) => (a.partner_id ?? '').localeCompare(b.partner_id ?? '') || a.currency.localeCompare(b.currency),
    ),
  };
}
