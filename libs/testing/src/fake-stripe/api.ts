import type Stripe from 'stripe';
import { type FormObject, int, metadataOf, missing, StripeApiError, str } from './http.ts';
import * as o from './objects.ts';
import type { FakeStripeStore } from './store.ts';

/** What a route does besides answering: the events it emits (sent as signed webhooks). */
export interface Effects {
  emit: (type: string, object: { id: string }) => void;
}

type Handler = (args: { form: FormObject; id: string | undefined; store: FakeStripeStore; fx: Effects }) => unknown;

const currencyOf = (form: FormObject) => {
  const c = str(form, 'currency', true).toLowerCase();
  if (!/^[a-z]{3}$/.test(c))
    throw new StripeApiError(400, 'invalid_request_error', `Invalid currency: ${c}.`, {
      code: 'parameter_invalid_string',
      param: 'currency',
    });
  return c;
};

/** Charges a customer (or fails as a declined card does, with the failed charge kept and charge.failed sent). */
export function chargeCustomer(
  store: FakeStripeStore,
  fx: Effects,
  p: {
    amount: number;
    currency: string;
    customer: string | null;
    metadata: Record<string, string>;
    description?: string | null;
    created?: number;
  },
): Stripe.Charge {
  const cus = p.customer ? store.customers.get(p.customer, 'customer') : undefined;
  if (cus && store.isDeclined(cus)) {
    const failed = store.charges.add(o.charge({ ...p, failure: { code: 'card_declined', message: 'Your card was declined.' } }));
    fx.emit('charge.failed', failed);
    throw new StripeApiError(402, 'card_error', 'Your card was declined.', {
      code: 'card_declined',
      decline_code: 'generic_decline',
      charge: failed.id,
    });
  }
  const ch = store.charges.add(o.charge(p));
  fx.emit('charge.succeeded', ch);
  return ch;
}

/** Refunds (part of) a charge; the charge's `refunds` list, `amount_refunded` and `refunded` follow. */
export function refundCharge(
  store: FakeStripeStore,
  fx: Effects,
  chargeId: string,
  amount: number | undefined,
  metadata: Record<string, string> = {},
  created?: number,
) {
  const ch = store.charges.get(chargeId, 'charge');
  const left = ch.amount - ch.amount_refunded;
  const amt = amount ?? left;
  if (ch.status !== 'succeeded' || amt > left || amt <= 0)
    throw new StripeApiError(400, 'invalid_request_error', `Refund amount (${amt}) is greater than unrefunded amount on charge (${left})`, {
      code: 'amount_too_large',
      param: 'amount',
    });
  const r = store.refunds.add(o.refund({ charge: ch, amount: amt, metadata, ...(created ? { created } : {}) }));
  ch.amount_refunded += amt;
  ch.refunded = ch.amount_refunded === ch.amount;
  ch.refunds?.data.unshift(r);
  fx.emit('charge.refunded', ch);
  return r;
}

/** Collects an open invoice: a charge for its amount due; paid on success, attempt counted on a decline. */
function payInvoice(store: FakeStripeStore, fx: Effects, inv: Stripe.Invoice) {
  if (inv.status === 'paid')
    throw new StripeApiError(400, 'invalid_request_error', 'Invoice is already paid', { code: 'invoice_already_paid' });
  if (inv.status !== 'open')
    throw new StripeApiError(400, 'invalid_request_error', `You can only pay an open invoice (this one is ${inv.status}).`, {
      code: 'invoice_not_open',
    });
  inv.attempt_count += 1;
  inv.attempted = true;
  try {
    chargeCustomer(store, fx, {
      amount: inv.amount_due,
      currency: inv.currency,
      customer: String(inv.customer),
      metadata: { ...inv.metadata, invoice: inv.id },
      description: `Payment for invoice ${inv.number}`,
    });
  } catch (err) {
    inv.next_payment_attempt = o.nowS() + 3 * 86_400 * inv.attempt_count;
    fx.emit('invoice.payment_failed', inv);
    throw err;
  }
  inv.status = 'paid';
  inv.amount_paid = inv.amount_due;
  inv.amount_remaining = 0;
  inv.next_payment_attempt = null;
  fx.emit('invoice.paid', inv);
  fx.emit('invoice.payment_succeeded', inv);
  return inv;
}

/** The routes the fake answers: `METHOD /v1/path` with `:id` for the resource id. */
export const routes: Record<string, Handler> = {
  'POST /v1/customers': ({ form, store, fx }) => {
    const email = str(form, 'email');
    const name = str(form, 'name');
    const c = store.customers.add(o.customer({ metadata: metadataOf(form), ...(email ? { email } : {}), ...(name ? { name } : {}) }));
    fx.emit('customer.created', c);
    return c;
  },
  'GET /v1/customers': ({ form, store }) =>
    store.customers.list(form, '/v1/customers', (c) => !str(form, 'email') || c.email === str(form, 'email')),
  'GET /v1/customers/:id': ({ id, store }) => store.customers.get(id as string),
  'POST /v1/customers/:id': ({ form, id, store }) => {
    const c = store.customers.get(id as string);
    c.metadata = { ...c.metadata, ...metadataOf(form) };
    return c;
  },
  'POST /v1/accounts': ({ form, store }) => {
    const email = str(form, 'email');
    return store.accounts.add({ ...o.account({ metadata: metadataOf(form), ...(email ? { email } : {}) }), created: o.nowS() });
  },
  'GET /v1/accounts': ({ form, store }) => store.accounts.list(form, '/v1/accounts'),
  'GET /v1/accounts/:id': ({ id, store }) => store.accounts.get(id as string),
  'POST /v1/charges': ({ form, store, fx }) =>
    chargeCustomer(store, fx, {
      amount: int(form, 'amount', true),
      currency: currencyOf(form),
      customer: str(form, 'customer') ?? null,
      metadata: metadataOf(form),
      description: str(form, 'description') ?? null,
    }),
  'GET /v1/charges': ({ form, store }) => {
    const customer = str(form, 'customer');
    return store.charges.list(form, '/v1/charges', (c) => !customer || c.customer === customer);
  },
  'GET /v1/charges/:id': ({ id, store }) => store.charges.get(id as string),
  'POST /v1/refunds': ({ form, store, fx }) => refundCharge(store, fx, str(form, 'charge', true), int(form, 'amount'), metadataOf(form)),
  'GET /v1/refunds': ({ form, store }) =>
    store.refunds.list(form, '/v1/refunds', (r) => !str(form, 'charge') || r.charge === str(form, 'charge')),
  'POST /v1/invoices': ({ form, store, fx }) => {
    const customer = str(form, 'customer', true);
    const cus = store.customers.get(customer, 'customer');
    const inv = store.invoices.add(
      o.invoice({
        customer: cus.id,
        currency: (str(form, 'currency') ?? 'usd').toLowerCase(),
        metadata: metadataOf(form),
        description: str(form, 'description') ?? null,
        auto_advance: str(form, 'auto_advance') === 'true',
      }),
    );
    fx.emit('invoice.created', inv);
    return inv;
  },
  'GET /v1/invoices': ({ form, store }) =>
    store.invoices.list(form, '/v1/invoices', (i) => !str(form, 'customer') || i.customer === str(form, 'customer')),
  'GET /v1/invoices/:id': ({ id, store }) => store.invoices.get(id as string),
  'POST /v1/invoiceitems': ({ form, store }) => {
    const customer = str(form, 'customer', true);
    store.customers.get(customer, 'customer');
    const invoiceId = str(form, 'invoice', true);
    const inv = store.invoices.get(invoiceId, 'invoice');
    if (inv.status !== 'draft')
      throw new StripeApiError(400, 'invalid_request_error', 'You can only add items to a draft invoice.', { param: 'invoice' });
    const amount = int(form, 'amount', true);
    const item = store.invoiceItems.add({
      ...o.invoiceItem({ customer, invoice: inv.id, amount, currency: currencyOf(form), description: str(form, 'description') ?? null }),
      created: o.nowS(),
    });
    inv.subtotal += amount;
    inv.total += amount;
    inv.amount_due += amount;
    inv.amount_remaining += amount;
    return item;
  },
  'POST /v1/invoices/:id/finalize': ({ id, store, fx }) => {
    const inv = store.invoices.get(id as string);
    if (inv.status !== 'draft')
      throw new StripeApiError(400, 'invalid_request_error', `This invoice is already finalized.`, { code: 'invoice_not_editable' });
    inv.status = 'open';
    inv.number = `FAKE-${String(store.invoices.all().filter((i) => i.number).length + 1).padStart(4, '0')}`;
    fx.emit('invoice.finalized', inv);
    return inv;
  },
  'POST /v1/invoices/:id/pay': ({ id, store, fx }) => payInvoice(store, fx, store.invoices.get(id as string)),
  'POST /v1/subscriptions': ({ form, store, fx }) => {
    const customer = str(form, 'customer', true);
    store.customers.get(customer, 'customer');
    const items = form.items;
    const first = typeof items === 'object' ? items['0'] : undefined;
    if (typeof first !== 'object') throw missing('items');
    const sub = store.subscriptions.add(
      o.subscription({
        customer,
        currency: (str(form, 'currency') ?? 'usd').toLowerCase(),
        metadata: metadataOf(form),
        price: str(first, 'price') ?? 'price_fake',
        amount: typeof first.price_data === 'object' ? (int(first.price_data, 'unit_amount') ?? 0) : 0,
      }),
    );
    fx.emit('customer.subscription.created', sub);
    return sub;
  },
  'GET /v1/subscriptions': ({ form, store }) =>
    store.subscriptions.list(form, '/v1/subscriptions', (s) => !str(form, 'customer') || s.customer === str(form, 'customer')),
  'GET /v1/subscriptions/:id': ({ id, store }) => store.subscriptions.get(id as string),
  'POST /v1/subscriptions/:id': ({ form, id, store, fx }) => {
    const sub = store.subscriptions.get(id as string);
    sub.metadata = { ...sub.metadata, ...metadataOf(form) };
    if (str(form, 'cancel_at_period_end')) sub.cancel_at_period_end = str(form, 'cancel_at_period_end') === 'true';
    fx.emit('customer.subscription.updated', sub);
    return sub;
  },
  'DELETE /v1/subscriptions/:id': ({ id, store, fx }) => {
    const sub = store.subscriptions.get(id as string);
    if (sub.status === 'canceled') return sub;
    sub.status = 'canceled';
    sub.canceled_at = o.nowS();
    sub.ended_at = sub.canceled_at;
    fx.emit('customer.subscription.deleted', sub);
    return sub;
  },
  'POST /v1/transfers': ({ form, store, fx }) => {
    const destination = str(form, 'destination', true);
    store.accounts.get(destination, 'destination');
    if (store.failingDestinations.has(destination))
      throw new StripeApiError(400, 'invalid_request_error', 'You have insufficient funds in your Stripe account.', {
        code: 'balance_insufficient',
      });
    const t = store.transfers.add(
      o.transfer({
        amount: int(form, 'amount', true),
        currency: currencyOf(form),
        destination,
        metadata: metadataOf(form),
        description: str(form, 'description') ?? null,
        transfer_group: str(form, 'transfer_group') ?? null,
      }),
    );
    fx.emit('transfer.created', t);
    return t;
  },
  'GET /v1/transfers': ({ form, store }) =>
    store.transfers.list(form, '/v1/transfers', (t) => !str(form, 'destination') || t.destination === str(form, 'destination')),
  'GET /v1/transfers/:id': ({ id, store }) => store.transfers.get(id as string),
  'GET /v1/events': ({ form, store }) => store.events.list(form, '/v1/events', (e) => !str(form, 'type') || e.type === str(form, 'type')),
  'GET /v1/events/:id': ({ id, store }) => store.events.get(id as string),
};

/** Finds the route of a request: exact paths first, then one `:id` segment (and an action after it). */
export function routeOf(method: string, path: string): { handler: Handler; id: string | undefined } | undefined {
  const exact = routes[`${method} ${path}`];
  if (exact) return { handler: exact, id: undefined };
  const m = /^(\/v1\/[a-z_]+)\/([A-Za-z0-9_]+)(\/[a-z_]+)?$/.exec(path);
  if (!m) return undefined;
  const handler = routes[`${method} ${m[1]}/:id${m[3] ?? ''}`];
  return handler ? { handler, id: m[2] } : undefined;
}
