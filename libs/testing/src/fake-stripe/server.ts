import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { chargeCustomer, type Effects, refundCharge, routeOf } from './api.ts';
import { fingerprintOf, type IdempotentAnswer, parseForm, readBody, StripeApiError, send } from './http.ts';
import * as o from './objects.ts';
import { FakeStripeStore } from './store.ts';

export interface FakeStripeOptions {
  /** The secret key clients must send (`Authorization: Bearer …`); default a random `sk_test_…`. */
  apiKey?: string;
  /** The endpoint secret webhooks are signed with (`whsec_…`); default random. */
  webhookSecret?: string;
  /** Where events are POSTed; none: events are only kept (and listed at /v1/events). */
  webhookUrl?: string;
  port?: number;
}

/** A delivery of an event to the webhook URL, as the fake made it. */
export interface WebhookDelivery {
  event_id: string;
  type: string;
  status: number | null;
  error?: string;
}

/** Stripe's signature: `t=<unix s>,v1=<hex HMAC-SHA256 over "t.payload" with the endpoint secret>`. */
export function stripeSignature(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

export type FakeStripe = Awaited<ReturnType<typeof startFakeStripe>>;

/**
 * An HTTP server the real `stripe` SDK talks to (`new Stripe(key, fake.clientOptions)`): form-encoded bodies with
 * bracket nesting, `Idempotency-Key` replay (same key and request → the same answer; another request under the
 * key → 400 idempotency_error), lists with `limit`, `starting_after`, `ending_before`, `created[...]` and
 * `has_more`, Stripe's error objects, and events POSTed to the webhook URL signed as Stripe signs them.
 */
export async function startFakeStripe(opts: FakeStripeOptions = {}) {
  const apiKey = opts.apiKey ?? `sk_test_${randomBytes(12).toString('hex')}`;
  const webhookSecret = opts.webhookSecret ?? `whsec_${randomBytes(24).toString('base64url')}`;
  let webhookUrl = opts.webhookUrl;
  const store = new FakeStripeStore();
  const idempotent = new Map<string, IdempotentAnswer>();
  const deliveries: WebhookDelivery[] = [];
  const requests: { method: string; path: string; status: number; idempotency_key: string | null }[] = [];
  const pending = new Set<Promise<unknown>>();
  /** Requests (`METHOD /path`) whose connection is cut after the fake did the work, once each: a lost answer. */
  const dropAnswers = new Map<string, number>();

  async function deliver(e: Stripe.Event, at?: { timestamp?: number; secret?: string }): Promise<WebhookDelivery> {
    const url = webhookUrl;
    const d: WebhookDelivery = { event_id: e.id, type: e.type, status: null };
    if (!url) return d;
    const payload = JSON.stringify(e, null, 2);
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': stripeSignature(payload, at?.secret ?? webhookSecret, at?.timestamp),
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
        body: payload,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      d.status = res.status;
    } catch (err) {
      d.error = err instanceof Error ? err.message : String(err);
    }
    deliveries.push(d);
    return d;
  }

  /** Events are kept in order; with autoDeliver they are POSTed (in the background, in order) as Stripe does. */
  let autoDeliver = true;
  let chain: Promise<unknown> = Promise.resolve();
  const fxFor = (idempotencyKey: string | null): Effects => ({
    emit(type, object) {
      const e = store.events.add(o.event(type, structuredClone(object), idempotencyKey));
      if (!autoDeliver) return;
      const p = chain.then(() => deliver(e));
      chain = p;
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
  });

  async function answer(req: IncomingMessage, res: ServerResponse) {
    const requestId = `req_${randomBytes(8).toString('hex')}`;
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const text = await readBody(req);
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
    const record = (status: number) => requests.push({ method, path: url.pathname, status, idempotency_key: key });
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${apiKey}`) {
      record(401);
      const shown = auth.replace(/^Bearer /, '').slice(0, 8);
      return send(res, 401, new StripeApiError(401, 'invalid_request_error', `Invalid API Key provided: ${shown}***`).body(), requestId);
    }
    const fingerprint = fingerprintOf(method, url.pathname, method === 'GET' ? url.search : text);
    const done = (status: number, body: unknown, replayed = false) => {
      record(status);
      const drop = `${method} ${url.pathname.replace(/\/[a-z]+_[A-Za-z0-9]+/, '/:id')}`;
      const left = dropAnswers.get(drop) ?? 0;
      if (left > 0) {
        dropAnswers.set(drop, left - 1);
        req.socket.destroy();
        return;
      }
      if (replayed) res.setHeader('idempotent-replayed', 'true');
      send(res, status, body, requestId);
    };
    const prior = key && method === 'POST' ? idempotent.get(key) : undefined;
    if (prior && prior.fingerprint !== fingerprint) {
      const e = new StripeApiError(
        400,
        'idempotency_error',
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      );
      return done(400, e.body());
    }
    if (prior) return done(prior.status, prior.body, true);
    const route = routeOf(method, url.pathname);
    let status = 200;
    let body: unknown;
    try {
      if (!route) throw new StripeApiError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${url.pathname}).`);
      const form = parseForm(method === 'GET' || method === 'DELETE' ? url.search.slice(1) : text);
      body = route.handler({ form, id: route.id, store, fx: fxFor(key) });
    } catch (err) {
      if (!(err instanceof StripeApiError)) throw err;
      status = err.status;
      body = err.body();
    }
    // Stripe keeps the answer of an idempotent request, errors included (except 5xx, which may be retried).
    if (key && method === 'POST' && status < 500) idempotent.set(key, { fingerprint, status, body: structuredClone(body) });
    done(status, body);
  }

  const server = createServer((req, res) => {
    answer(req, res).catch((err: unknown) => {
      // A bug in the fake: answer as Stripe's api_error so the caller sees a 500, and say what broke.
      process.stderr.write(`fake stripe: ${err instanceof Error ? err.stack : String(err)}\n`);
      if (!res.headersSent) send(res, 500, new StripeApiError(500, 'api_error', 'fake stripe failed').body(), 'req_error');
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const fxNow = fxFor(null);

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    apiKey,
    webhookSecret,
    store,
    deliveries,
    requests,
    /** Options for `new Stripe(apiKey, …)` that point the SDK at this fake. */
    clientOptions: { host: '127.0.0.1', port, protocol: 'http' as const, maxNetworkRetries: 0 },
    /** Every transfer made (Connect payouts), oldest first. */
    transfers: () => store.transfers.all(),
    setWebhookUrl(url: string | undefined) {
      webhookUrl = url;
    },
    /** Stops (false) or resumes (true) sending events as they happen; they are still kept. */
    setAutoDeliver(on: boolean) {
      autoDeliver = on;
    },
    /** Declines every later payment of the customer (card_declined), or accepts them again. */
    declinePayments(customerId: string, on = true) {
      if (on) store.declined.add(customerId);
      else store.declined.delete(customerId);
    },
    /** Declines the payments of every customer (also ones created later) whose metadata has `key: value`. */
    declinePaymentsWhere(key: string, value: string) {
      store.declinedMetadata.push([key, value]);
    },
    failTransfersTo(accountId: string, on = true) {
      if (on) store.failingDestinations.add(accountId);
      else store.failingDestinations.delete(accountId);
    },
    /** The next `times` answers to `METHOD /v1/path` (ids as `:id`) are lost: the work is done, the socket cut. */
    dropAnswer(route: string, times = 1) {
      dropAnswers.set(route, (dropAnswers.get(route) ?? 0) + times);
    },
    /** Test helpers for the platform's own customers (as its product would create them in Stripe). */
    createCustomer(p: { email?: string; metadata?: Record<string, string> } = {}) {
      const c = store.customers.add(o.customer({ metadata: p.metadata ?? {}, ...(p.email ? { email: p.email } : {}) }));
      fxNow.emit('customer.created', c);
      return c;
    },
    createCharge(p: { customer: string | null; amount: number; currency?: string; metadata?: Record<string, string>; created?: Date }) {
      return chargeCustomer(store, fxNow, {
        amount: p.amount,
        currency: p.currency ?? 'usd',
        customer: p.customer,
        metadata: p.metadata ?? {},
        ...(p.created ? { created: Math.floor(p.created.getTime() / 1000) } : {}),
      });
    },
    refund(chargeId: string, amount?: number, at?: Date) {
      return refundCharge(store, fxNow, chargeId, amount, {}, at ? Math.floor(at.getTime() / 1000) : undefined);
    },
    createSubscription(p: { customer: string; amount: number; currency?: string; metadata?: Record<string, string>; start?: Date }) {
      const sub = store.subscriptions.add(
        o.subscription({
          customer: p.customer,
          currency: p.currency ?? 'usd',
          metadata: p.metadata ?? {},
          price: 'price_fake',
          amount: p.amount,
          ...(p.start ? { start: Math.floor(p.start.getTime() / 1000) } : {}),
        }),
      );
      fxNow.emit('customer.subscription.created', sub);
      return sub;
    },
    createAccount(p: { email?: string; metadata?: Record<string, string> } = {}) {
      return store.accounts.add({
        ...o.account({ metadata: p.metadata ?? {}, ...(p.email ? { email: p.email } : {}) }),
        created: o.nowS(),
      });
    },
    /** A new event about an object (kept, and delivered when auto delivery is on). */
    fireEvent(type: string, object: { id: string }) {
      fxNow.emit(type, object);
      return store.events.all().at(-1) as Stripe.Event;
    },
    /** Sends a kept event (again), optionally signed at another time or with another secret (stale, forged). */
    resend(eventId: string, at?: { timestamp?: number; secret?: string }) {
      return deliver(store.events.get(eventId), at);
    },
    /** Waits until every event sent so far has been delivered (or failed to be). */
    async settled() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    async close() {
      await Promise.allSettled([...pending]);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
