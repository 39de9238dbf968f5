import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';

/**
 * Builders of the fake Stripe's resources, typed with the SDK's own resource types. Only the fields the platform
 * reads (and the ones every resource has) are filled; the rest stay absent, which a `Partial` of the SDK type admits.
 */
export const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
export const nowS = () => Math.floor(Date.now() / 1000);

export type Metadata = Record<string, string>;

export function customer(p: { email?: string; name?: string; metadata: Metadata; created?: number }): Stripe.Customer {
  const c: Partial<Stripe.Customer> = {
    id: newId('cus'),
    object: 'customer',
    created: p.created ?? nowS(),
    email: p.email ?? null,
    name: p.name ?? null,
    metadata: p.metadata,
    livemode: false,
    balance: 0,
    currency: null,
    delinquent: false,
    description: null,
  };
  return c as Stripe.Customer;
}

export function account(p: { email?: string; metadata: Metadata }): Stripe.Account {
  const a: Partial<Stripe.Account> = {
    id: newId('acct'),
    object: 'account',
    created: nowS(),
    email: p.email ?? null,
    metadata: p.metadata,
    type: 'express',
    charges_enabled: true,
    payouts_enabled: true,
    details_submitted: true,
  };
  return a as Stripe.Account;
}

export function charge(p: {
  amount: number;
  currency: string;
  customer: string | null;
  metadata: Metadata;
  description?: string | null;
  created?: number;
  failure?: { code: string; message: string };
}): Stripe.Charge {
  const id = newId('ch');
  const ok = !p.failure;
  const c: Partial<Stripe.Charge> = {
    id,
    object: 'charge',
    amount: p.amount,
    amount_captured: ok ? p.amount : 0,
    amount_refunded: 0,
    captured: ok,
    created: p.created ?? nowS(),
    currency: p.currency,
    customer: p.customer,
    description: p.description ?? null,
    disputed: false,
    failure_code: p.failure?.code ?? null,
    failure_message: p.failure?.message ?? null,
    livemode: false,
    metadata: p.metadata,
    paid: ok,
    refunded: false,
    refunds: { object: 'list', data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
    status: ok ? 'succeeded' : 'failed',
  };
  return c as Stripe.Charge;
}

export function refund(p: { charge: Stripe.Charge; amount: number; metadata: Metadata; created?: number }): Stripe.Refund {
  const r: Partial<Stripe.Refund> = {
    id: newId('re'),
    object: 'refund',
    amount: p.amount,
    charge: p.charge.id,
    created: p.created ?? nowS(),
    currency: p.charge.currency,
    metadata: p.metadata,
    status: 'succeeded',
  };
  return r as Stripe.Refund;
}

export function invoice(p: {
  customer: string;
  currency: string;
  metadata: Metadata;
  description?: string | null;
  auto_advance?: boolean;
}): Stripe.Invoice {
  const i: Partial<Stripe.Invoice> = {
    id: newId('in'),
    object: 'invoice',
    customer: p.customer,
    currency: p.currency,
    metadata: p.metadata,
    description: p.description ?? null,
    status: 'draft',
    amount_due: 0,
    amount_paid: 0,
    amount_remaining: 0,
    attempt_count: 0,
    attempted: false,
    auto_advance: p.auto_advance ?? false,
    collection_method: 'charge_automatically',
    created: nowS(),
    livemode: false,
    number: null,
    subtotal: 0,
    total: 0,
    next_payment_attempt: null,
    lines: { object: 'list', data: [], has_more: false, url: '/v1/invoices/lines' },
  };
  return i as Stripe.Invoice;
}

export function invoiceItem(p: {
  customer: string;
  invoice: string;
  amount: number;
  currency: string;
  description: string | null;
}): Stripe.InvoiceItem {
  const i: Partial<Stripe.InvoiceItem> = {
    id: newId('ii'),
    object: 'invoiceitem',
    amount: p.amount,
    currency: p.currency,
    customer: p.customer,
    description: p.description,
    date: nowS(),
    livemode: false,
    metadata: {},
  };
  return i as Stripe.InvoiceItem;
}

export function subscription(p: {
  customer: string;
  currency: string;
  metadata: Metadata;
  price: string;
  amount: number;
  start?: number;
}): Stripe.Subscription {
  const start = p.start ?? nowS();
  const id = newId('sub');
  const s: Partial<Stripe.Subscription> = {
    id,
    object: 'subscription',
    customer: p.customer,
    currency: p.currency,
    metadata: p.metadata,
    status: 'active',
    created: start,
    start_date: start,
    cancel_at_period_end: false,
    canceled_at: null,
    ended_at: null,
    livemode: false,
    items: {
      object: 'list',
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
      data: [
        {
          id: newId('si'),
          object: 'subscription_item',
          created: start,
          metadata: {},
          quantity: 1,
          subscription: id,
          current_period_start: start,
          current_period_end: start + 30 * 86_400,
          price: { id: p.price, object: 'price', currency: p.currency, unit_amount: p.amount } as Stripe.Price,
        } as Stripe.SubscriptionItem,
      ],
    },
  };
  return s as Stripe.Subscription;
}

export function transfer(p: {
  amount: number;
  currency: string;
  destination: string;
  metadata: Metadata;
  description: string | null;
  transfer_group: string | null;
}): Stripe.Transfer {
  const t: Partial<Stripe.Transfer> = {
    id: newId('tr'),
    object: 'transfer',
    amount: p.amount,
    amount_reversed: 0,
    currency: p.currency,
    destination: p.destination,
    created: nowS(),
    description: p.description,
    livemode: false,
    metadata: p.metadata,
    reversed: false,
    transfer_group: p.transfer_group,
  };
  return t as Stripe.Transfer;
}

export function event(type: string, object: { id: string }, idempotencyKey: string | null): Stripe.Event {
  const e = {
    id: newId('evt'),
    object: 'event',
    api_version: '2026-10-28.endive',
    created: nowS(),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: idempotencyKey },
    type,
  };
  return e as Stripe.Event;
}
