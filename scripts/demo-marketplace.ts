// The marketplace part of `npm start`'s demo (scripts/start.ts): the demo partner ships an application, publishes
// its listing's content, a misspelled search finds it, the platform installs it for a customer, the customer
// reviews it and the partner answers.
import { createServer } from 'node:http';

type Step = (text: string) => void;
type Say = (text: string) => void;

/** Loopback answers for the application's webhook and health URLs (the registry's security validation calls them). */
async function appEndpoints() {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function demoMarketplace(base: string, auth: Record<string, string>, partnerId: string, step: Step, say: Say): Promise<void> {
  const call = async (method: string, path: string, body?: unknown, expect = [200, 201]) => {
    // No body, no Content-Type (an empty JSON body is a 400).
    const { 'content-type': _json, ...bare } = auth;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? bare : auth,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    if (!expect.includes(res.status)) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return { status: res.status, body: json };
  };
  const endpoints = await appEndpoints();
  try {
    step('the partner ships an application: POST /v1/applications, submit, review, approve, publish');
    const app = await call('POST', '/v1/applications', {
      partner_id: partnerId,
      name: 'Acme Quote Engine',
      description: 'Prices home and motor policies from a lead in seconds.',
      redirect_uris: ['https://acme.example/callback'],
      scopes: ['read:partners'],
      webhook_url: `${endpoints.url}/app-webhook`,
      health_url: `${endpoints.url}/health`,
      privacy_url: 'https://acme.example/privacy',
      terms_url: 'https://acme.example/terms',
      // listing fields the published snapshot carries (application.published v2); the rest comes with the draft
      tagline: 'Quotes your policies in seconds',
      categories: ['policies'],
      support_email: 'support@acme.example',
    });
    const appId = String(app.body.id);
    for (const action of ['submit', 'start-review', 'approve', 'publish']) await call('POST', `/v1/applications/${appId}/${action}`, {});
    say(`   → application ${appId} published`);

    const listingId = `lst_${appId.replace(/^app_/, '')}`;
    step(`its listing's content: PUT /v1/marketplace/listings/${listingId}/draft, then POST …/draft/publish (checklist)`);
    const waitFor = async <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const v = await fn();
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`${what} did not happen within 20 s`);
    };
    await waitFor('the listing', async () =>
      (await call('GET', `/v1/marketplace/listings/${listingId}`, undefined, [200, 404])).status === 200 ? true : undefined,
    );
    const early = await call('POST', `/v1/marketplace/listings/${listingId}/draft/publish`, undefined, [422]);
    const missing = ((early.body.errors ?? []) as { path: string }[]).map((e) => e.path);
    say(`   → 422 before the content is complete, missing: ${missing.join(', ')}`);
    await call('PUT', `/v1/marketplace/listings/${listingId}/draft`, {
      tagline: 'Quotes your policies in seconds',
      description:
        'Acme Quote Engine prices home and motor policies from the details of a lead, explains every premium line by line, and hands the quote back to your CRM with one click.',
      logo_url: 'https://acme.example/logo.png',
      screenshots: ['https://acme.example/s1.png', 'https://acme.example/s2.png', 'https://acme.example/s3.png'],
      categories: ['policies'],
      support_email: 'support@acme.example',
      documentation_url: 'https://docs.acme.example',
      privacy_url: 'https://acme.example/privacy',
      terms_url: 'https://acme.example/terms',
      pricing_plans: [{ name: 'Pro', model: 'flat', amount: 4900, interval: 'month', trial_days: 14 }],
    });
    const live = await call('POST', `/v1/marketplace/listings/${listingId}/draft/publish`);
    say(`   → 200 live: "${live.body.tagline}", categories ${JSON.stringify(live.body.categories)}, official ${live.body.official}`);

    step('a customer searches with a typo, no credential: GET /v1/marketplace/listings?q=acme quoet');
    const found = await waitFor('the listing to be searchable', async () => {
      const r = await fetch(`${base}/v1/marketplace/listings?q=${encodeURIComponent('acme quoet')}`);
      const page = (await r.json()) as { data?: { id: string; name: string }[]; total?: number };
      return page.data?.some((l) => l.id === listingId) ? page : undefined;
    });
    say(`   → ${found.total} match(es), first "${found.data?.[0]?.name}"`);

    const customer = 'demo-customer-1';
    step(`the platform installs it for ${customer}: POST /v1/marketplace/listings/{id}/installs`);
    const install = await call('POST', `/v1/marketplace/listings/${listingId}/installs`, { customer_id: customer });
    say(`   → ${install.status} install ${install.body.id} (${install.body.status})`);

    step('the customer reviews it, and the partner answers: POST …/reviews, PUT /v1/marketplace/reviews/{id}/response');
    const review = await call('POST', `/v1/marketplace/listings/${listingId}/reviews`, {
      customer_id: customer,
      rating: 5,
      body: 'Quotes in seconds, as promised.',
    });
    await call('PUT', `/v1/marketplace/reviews/${review.body.id}/response`, { body: 'Thank you! Tell us what to price next.' });
    const shown = await call('GET', `/v1/marketplace/listings/${listingId}`);
    const rating = shown.body.rating as { count: number; mean: number | null };
    say(`   → listing: ${shown.body.active_installs} active install(s), ${rating.count} review(s), mean ${rating.mean}`);
    if (shown.body.active_installs !== 1 || rating.count !== 1) throw new Error('the install and the review did not show on the listing');
  } finally {
    await endpoints.close();
  }
}
