import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type Stripe from 'stripe';
import type { BillingDB } from '../db/schema.ts';

type Db = Kysely<BillingDB> | Transaction<BillingDB>;

export interface Attribution {
  partnerId: string | null;
  /** install (the customer installed the partner's listing) | referral (metadata.partner_id) | partner_invoice | none */
  attribution: 'install' | 'referral' | 'partner_invoice' | 'none';
  /** Whose contract year it is: the platform customer (metadata.customer_id), else the Stripe customer. */
  customerKey: string;
}

const idOf = (v: string | { id: string } | null | undefined) => (v == null ? null : typeof v === 'string' ? v : v.id);

/**
 * Who a payment is attributed to: a partner paying its own invoice is nobody's revenue; `metadata.partner_id`
 * (on the charge, else on its Stripe customer) is a referral; `metadata.customer_id` names the platform customer,
 * attributed to the partner whose listing it had installed (the earliest install active at the payment).
 */
export async function attribute(
  db: Db,
  stripe: Stripe,
  p: { metadata: Stripe.Metadata; customer: string | null; fallbackKey: string; at: Date },
): Promise<Attribution> {
  let meta = p.metadata;
  if (p.customer) {
    const own = await db
      .selectFrom('stripe_partner_accounts')
      .select('partner_id')
      .where('customer_id', '=', p.customer)
      .executeTakeFirst();
    if (own || meta.invoice_id) return { partnerId: null, attribution: 'partner_invoice', customerKey: p.customer };
    if (!meta.partner_id && !meta.customer_id) {
      const c = await stripe.customers.retrieve(p.customer);
      if (!('deleted' in c && c.deleted)) meta = { ...c.metadata, ...meta };
    }
  } else if (meta.invoice_id) return { partnerId: null, attribution: 'partner_invoice', customerKey: p.fallbackKey };
  const customerKey = meta.customer_id ?? p.customer ?? p.fallbackKey;
  if (meta.partner_id) return { partnerId: meta.partner_id, attribution: 'referral', customerKey };
  if (meta.customer_id) {
    const install = await db
      .selectFrom('customer_installs')
      .select('partner_id')
      .where('customer_id', '=', meta.customer_id)
      .where('installed_at', '<=', p.at)
      .where((eb) => eb.or([eb('removed_at', 'is', null), eb('removed_at', '>', p.at)]))
      .orderBy('installed_at')
      .executeTakeFirst();
    if (install) return { partnerId: install.partner_id, attribution: 'install', customerKey };
  }
  return { partnerId: null, attribution: 'none', customerKey };
}

/** Keeps a charge as Stripe has it now (refunds included); its attribution is decided once, when first seen. */
export async function syncCharge(trx: Transaction<BillingDB>, stripe: Stripe, ch: Stripe.Charge) {
  const at = new Date(ch.created * 1000);
  const existing = await trx.selectFrom('stripe_charges').select('id').where('id', '=', ch.id).executeTakeFirst();
  if (existing) {
    await trx
      .updateTable('stripe_charges')
      .set({ status: ch.status, amount_refunded: ch.amount_refunded })
      .where('id', '=', ch.id)
      .execute();
  } else {
    const customer = idOf(ch.customer);
    const a = await attribute(trx, stripe, { metadata: ch.metadata, customer, fallbackKey: ch.id, at });
    await trx
      .insertInto('stripe_charges')
      .values({
        id: ch.id,
        stripe_customer_id: customer,
        customer_key: a.customerKey,
        partner_id: a.partnerId,
        attribution: a.attribution,
        amount: ch.amount,
        amount_refunded: ch.amount_refunded,
        currency: ch.currency.toLowerCase(),
        status: ch.status,
        created_at: at,
        invoice_id: ch.metadata.invoice_id ?? null,
      })
      .execute();
  }
  if (ch.amount_refunded > 0) {
    const refunds = ch.refunds?.data ?? (await stripe.refunds.list({ charge: ch.id, limit: 100 })).data;
    for (const r of refunds) {
      if (r.status !== 'succeeded') continue;
      await trx
        .insertInto('stripe_refunds')
        .values({ id: r.id, charge_id: ch.id, amount: r.amount, created_at: new Date(r.created * 1000) })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  }
}

export async function syncSubscription(trx: Transaction<BillingDB>, stripe: Stripe, sub: Stripe.Subscription) {
  const customer = idOf(sub.customer) as string;
  const started = new Date(sub.start_date * 1000);
  const item = sub.items.data[0];
  const amount = (item?.price.unit_amount ?? 0) * (item?.quantity ?? 1);
  const a = await attribute(trx, stripe, { metadata: sub.metadata, customer, fallbackKey: sub.id, at: started });
  const canceled = sub.ended_at ?? sub.canceled_at;
  await trx
    .insertInto('stripe_subscriptions')
    .values({
      id: sub.id,
      stripe_customer_id: customer,
      customer_key: a.customerKey,
      partner_id: a.partnerId,
      status: sub.status,
      started_at: started,
      canceled_at: canceled ? new Date(canceled * 1000) : null,
      currency: sub.currency.toLowerCase(),
      amount,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        status: sub.status,
        canceled_at: canceled ? new Date(canceled * 1000) : null,
        amount,
      }),
    )
    .execute();
}

/**
 * When the contract of a (partner, customer) began: the install of the partner's listing, else the earliest
 * subscription start or charge of that customer attributed to the partner.
 */
export async function contractStart(db: Db, partnerId: string, customerKey: string): Promise<Date | undefined> {
  const r = await sql<{ start: Date | null }>`
    select least(
      (select min(installed_at) from customer_installs where partner_id = ${partnerId} and customer_id = ${customerKey}),
      (select min(started_at) from stripe_subscriptions where partner_id = ${partnerId} and customer_key = ${customerKey}),
      (select min(created_at) from stripe_charges where partner_id = ${partnerId} and customer_key = ${customerKey} and status = 'succeeded')
    ) as start`.execute(db);
  const start = r.rows[0]?.start;
  return start ? new Date(start) : undefined;
}
