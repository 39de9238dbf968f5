import type Stripe from 'stripe';
import { type FormObject, int, noSuch, StripeApiError, str } from './http.ts';

/** A resource the fake keeps: everything has an id and a creation time. */
export interface Stored {
  id: string;
  created: number;
}

/** One kind of resource, in creation order (lists answer newest first, as Stripe's do). */
export class Collection<T extends Stored> {
  private readonly items: T[] = [];
  private readonly byId = new Map<string, T>();
  constructor(readonly what: string) {}

  add(item: T): T {
    this.items.push(item);
    this.byId.set(item.id, item);
    return item;
  }
  get(id: string, param = 'id'): T {
    const found = this.byId.get(id);
    if (!found) throw noSuch(this.what, id, param);
    return found;
  }
  find(id: string): T | undefined {
    return this.byId.get(id);
  }
  all(): T[] {
    return [...this.items];
  }

  /**
   * Stripe's list: newest first, `limit` 1..100 (default 10), `starting_after` / `ending_before` cursors that
   * must name an object of this list, `created[gt|gte|lt|lte]`, and `has_more`.
   */
  list(q: FormObject, url: string, filter: (item: T) => boolean = () => true): Stripe.ApiList<T> {
    const limit = int(q, 'limit') ?? 10;
    if (limit < 1 || limit > 100)
      throw new StripeApiError(400, 'invalid_request_error', 'This value must be between 1 and 100 (it currently is ' + limit + ').', {
        code: 'parameter_invalid_integer',
        param: 'limit',
      });
    const created = q.created;
    const range = typeof created === 'object' ? created : undefined;
    const exact = typeof created === 'string' ? int(q, 'created') : undefined;
    const bound = (k: string) => (range ? int(range, k) : undefined);
    const [gt, gte, lt, lte] = [bound('gt'), bound('gte'), bound('lt'), bound('lte')];
    let rows = this.items
      .filter(
        (i) =>
          (exact === undefined || i.created === exact) &&
          (gt === undefined || i.created > gt) &&
          (gte === undefined || i.created >= gte) &&
          (lt === undefined || i.created < lt) &&
          (lte === undefined || i.created <= lte) &&
          filter(i),
      )
      .reverse();
    const after = str(q, 'starting_after');
    const before = str(q, 'ending_before');
    if (after) {
      const at = rows.findIndex((r) => r.id === after);
      if (at < 0) throw noSuch(this.what, after, 'starting_after');
      rows = rows.slice(at + 1);
    } else if (before) {
      const at = rows.findIndex((r) => r.id === before);
      if (at < 0) throw noSuch(this.what, before, 'ending_before');
      rows = rows.slice(Math.max(0, at - limit), at);
      return { object: 'list', data: rows, has_more: at - limit > 0, url };
    }
    return { object: 'list', data: rows.slice(0, limit), has_more: rows.length > limit, url };
  }
}

/** Everything the fake keeps, one collection per resource. */
export class FakeStripeStore {
  readonly customers = new Collection<Stripe.Customer>('customer');
  readonly accounts = new Collection<Stripe.Account & Stored>('account');
  readonly charges = new Collection<Stripe.Charge>('charge');
  readonly refunds = new Collection<Stripe.Refund>('refund');
  readonly invoices = new Collection<Stripe.Invoice>('invoice');
  readonly invoiceItems = new Collection<Stripe.InvoiceItem & Stored>('invoiceitem');
  readonly subscriptions = new Collection<Stripe.Subscription>('subscription');
  readonly transfers = new Collection<Stripe.Transfer>('transfer');
  readonly events = new Collection<Stripe.Event>('event');
  /** Customers whose payments the fake declines (card_declined), as a test asks. */
  readonly declined = new Set<string>();
  /** Customers (present or future) whose metadata has one of these key/value pairs are declined too. */
  readonly declinedMetadata: [string, string][] = [];
  isDeclined(customer: Stripe.Customer): boolean {
    return this.declined.has(customer.id) || this.declinedMetadata.some(([k, v]) => customer.metadata[k] === v);
  }
  /** Destination accounts whose transfers fail (insufficient funds on the platform balance, as Stripe answers). */
  readonly failingDestinations = new Set<string>();
}
