/**
 * `npm start`: provisions the stream and each service's database, starts every service as its own process
 * with readable prefixed logs, runs a short demo once (PLATFORM_DEMO=0 skips it), prints the URLs, and keeps
 * running until Ctrl-C / SIGTERM, when it stops every service cleanly (SIGTERM, then waits for each).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase } from '@pep/db';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { baseConfigSchema, databaseUrl, loadConfig } from '@pep/runtime';
import { type FakeStripe, startFakeStripe, startReceiver, waitUntil } from '@pep/testing';
import { Webhook } from 'standardwebhooks';
import { startReferencePartner } from '../tools/conformance/src/reference-partner.ts';
import { choosePorts, type PortBlock } from './start-ports.ts';
import { tracingHint } from './trace-hint.ts';
import { buildDist, compiledEntry, RUNTIME_ENV, runtimeFlags } from './build.ts';
import { z } from 'zod';
import { demoMarketplace } from './demo-marketplace.ts';
import { demoBilling } from './demo-billing.ts';
import { type Mailbox, startMailbox } from './mailbox.ts';
import { demoStripe } from './demo-stripe.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const config = loadConfig(
  baseConfigSchema.extend(StreamSettingsSchema.shape).extend({
    GATEWAY_PORT: z.coerce.number().int().default(8080),
    GATEWAY_HOST: z.string().default('127.0.0.1'),
    HEALTH_PORT_BASE: z.coerce.number().int().default(9100),
    PLATFORM_DEMO: z.enum(['0', '1']).default('1'),
    PLATFORM_ADMIN_API_KEY: z.string().min(16).optional(),
  }),
);

/** Start order: owners of aggregates first, the gateway last (it routes to them). */
const SERVICES = [
  'partner-registry',
  'webhook-dispatcher',
  'rollback-orchestrator',
  'github-bridge',
  'billing',
  'marketplace',
  'gateway',
].filter((s) => existsSync(join(ROOT, 'services', s, 'src', 'main.ts')));

/** Chosen in main(): the configured ports, the default ones, or this checkout's own block (see start-ports.ts). */
let ports: PortBlock = { gateway: config.GATEWAY_PORT, healthBase: config.HEALTH_PORT_BASE, why: 'default' };

const COLORS = [36, 35, 33, 32, 34, 91, 96];
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const say = (msg: string) => process.stdout.write(`${paint(1, '[platform]')} ${msg}\n`);

/** Renders a JSON log line as `level msg key=value ...`; other lines pass through. */
function pretty(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { time: _t, level, service: _s, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const lvl = String(level ?? 'info').padEnd(5);
    const lvlPainted = level === 'error' ? paint(31, lvl) : level === 'warn' ? paint(33, lvl) : lvl;
    return `${lvlPainted} ${msg ?? ''}${fields ? ` ${paint(2, fields)}` : ''}`;
  } catch {
    return line;
  }
}

interface Running {
  name: string;
  child: ChildProcess;
  healthPort: number;
  /** Times this service exited and was restarted inside the current budget window (see restartPolicy). */
  restarts: number[];
}

/**
 * The supervisor restarts a crashed service with exponential backoff (1 s, 2 s, 4 s … capped at 30 s) and gives
 * up only when it crashed more than `budget` times within `windowMs` (a crash loop), not after a lifetime
 * total: a few database or broker blips over a long run never leave the stack without a service. A service
 * that stayed up for a whole window starts again from the shortest delay.
 */
const restartPolicy = {
  budget: Number(process.env.PLATFORM_RESTART_BUDGET ?? 10),
  windowMs: Number(process.env.PLATFORM_RESTART_WINDOW_MS ?? 120_000),
  baseMs: 1000,
  maxMs: 30_000,
};
const running = new Map<string, Running>();
let fakeStripe: FakeStripe | undefined;
let shuttingDown = false;

/**
 * Development secrets: services refuse to start without their keys (as they must in production), so for a
 * local run they are generated once and kept in .tools/dev-secrets.json (git-ignored). Values from the
 * environment win.
 *
 * The keys that encrypt data at rest form ONE development keyring per machine
 * (`~/.config/partner-event-platform/dev-keyring.json`, or PLATFORM_DEV_KEYRING): every checkout on the machine
 * uses the same stream and databases by default, so every checkout must be able to read what another sealed.
 * A checkout that generated its own WEBHOOK_SECRET_KEY before keeps it as an extra (older) key of the keyring,
 * so what it sealed stays readable; `pnpm ops secrets reencrypt` moves those secrets to the machine key.
 */
const DEV_SECRETS: Record<string, () => string> = {
  PLATFORM_ADMIN_API_KEY: () => `pk_admin_${randomBytes(24).toString('base64url')}`,
  // A development GitHub App identity (api.github.com is not called until a policy needs a revert); set the
  // real App's id, private key and webhook secret to connect one.
  GITHUB_APP_ID: () => '1',
  GITHUB_PRIVATE_KEY: () =>
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  GITHUB_WEBHOOK_SECRET: () => randomBytes(24).toString('base64url'),
  // Billing's Stripe keys: in development the fake Stripe (started below) accepts and signs with these.
  STRIPE_API_KEY: () => `sk_test_${randomBytes(18).toString('hex')}`,
  STRIPE_WEBHOOK_SECRET: () => `whsec_${randomBytes(24).toString('base64url')}`,
  // The demo's portal users (the platform admin and the demo partner's owner) sign in with this password.
  PORTAL_DEMO_PASSWORD: () => randomBytes(12).toString('base64url'),
};
const PORTAL_ADMIN_EMAIL = 'admin@partner-platform.dev';
const PORTAL_OWNER_EMAIL = 'owner@acme.example';
const DEV_KEYRING: Record<string, () => string> = {
  WEBHOOK_SECRET_KEYS: () => `dev-${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64')}`,
  ROLLBACK_SECRETS_KEYS: () => `dev-${randomBytes(3).toString('hex')}:${randomBytes(32).toString('base64')}`,
};

function loadOrCreate(file: string, makers: Record<string, () => string>): Record<string, string> {
  let stored: Record<string, string> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  let changed = false;
  for (const [name, make] of Object.entries(makers)) {
    if (!stored[name]) {
      stored[name] = make();
      changed = true;
    }
  }
  if (changed) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  return stored;
}

function devSecrets(): Record<string, string> {
  const checkout = loadOrCreate(join(ROOT, '.tools', 'dev-secrets.json'), DEV_SECRETS);
  const keyringFile =
    process.env.PLATFORM_DEV_KEYRING ??
    join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'partner-event-platform', 'dev-keyring.json');
  const machine = loadOrCreate(keyringFile, DEV_KEYRING);
  const out: Record<string, string> = {};
  for (const name of Object.keys(DEV_SECRETS)) out[name] = process.env[name] ?? (checkout[name] as string);
  out.WEBHOOK_SECRET_KEYS = process.env.WEBHOOK_SECRET_KEYS ?? (machine.WEBHOOK_SECRET_KEYS as string);
  const legacyWebhookKey = process.env.WEBHOOK_SECRET_KEY ?? checkout.WEBHOOK_SECRET_KEY;
  if (legacyWebhookKey) out.WEBHOOK_SECRET_KEY = legacyWebhookKey;
  // The rollback orchestrator's keyring: the machine's keys seal; a single key from before keyrings (this checkout's
  // own, or the machine's first one) joins as `default` and still opens what it sealed.
  out.ROLLBACK_SECRETS_KEYS = process.env.ROLLBACK_SECRETS_KEYS ?? (machine.ROLLBACK_SECRETS_KEYS as string);
  const legacyRollbackKey = process.env.ROLLBACK_SECRETS_KEY ?? checkout.ROLLBACK_SECRETS_KEY ?? machine.ROLLBACK_SECRETS_KEY;
  if (legacyRollbackKey) out.ROLLBACK_SECRETS_KEY = legacyRollbackKey;
  return out;
}
const secrets = config.NODE_ENV === 'production' ? ({} as Record<string, string>) : devSecrets();
const adminKey = config.PLATFORM_ADMIN_API_KEY ?? secrets.PLATFORM_ADMIN_API_KEY ?? '';

/**
 * Development only: every service that calls out (webhook deliveries, rollback flag webhooks and custom
 * webhooks, integration health checks) may reach loopback, where the demo's receiver and reference partner
 * listen and where a developer runs their own. The services' own defaults stay strict (public unicast only),
 * so production, and any run with NODE_ENV=production, is untouched; a value set in the environment wins.
 */
const DEV_LOOPBACK = '127.0.0.0/8,::1';
const DEV_OUTBOUND: Record<string, Record<string, string>> = {
  'webhook-dispatcher': { WEBHOOK_SSRF_ALLOWLIST: DEV_LOOPBACK },
  'rollback-orchestrator': { OUTBOUND_ALLOWLIST: DEV_LOOPBACK },
  // Loopback listens on plain http, which the registry refuses for integration URLs unless told otherwise.
  'partner-registry': { SSRF_ALLOW: DEV_LOOPBACK, ALLOW_HTTP_URLS: 'true' },
};
function devOutbound(name: string): Record<string, string> {
  if (config.NODE_ENV === 'production') return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(DEV_OUTBOUND[name] ?? {})) if (process.env[k] === undefined) out[k] = v;
  return out;
}

/** The registry's portal settings for development: links to this gateway's /portal, and the seeded platform admin. */
function portalEnv(): Record<string, string> {
  if (config.NODE_ENV === 'production') return {};
  const password = secrets.PORTAL_DEMO_PASSWORD ?? '';
  return {
    PORTAL_URL: process.env.PORTAL_URL ?? `http://${config.GATEWAY_HOST}:${config.GATEWAY_PORT}/portal`,
    PORTAL_SEED_USERS:
      process.env.PORTAL_SEED_USERS ?? JSON.stringify([{ email: PORTAL_ADMIN_EMAIL, password, role: 'platform_admin', partner_id: null }]),
  };
}

/** Gives the demo partner an owner who signs in with the demo password (registry RPC, development only). */
async function seedDemoOwner(partnerId: string): Promise<void> {
  const bus = await connectBus({ url: config.NATS_URL, name: 'demo-seed', stream: config.STREAM_NAME, prefix: config.SUBJECT_PREFIX });
  try {
    const subject = `${config.RPC_PREFIX}.partner-registry.auth.seed-users`;
    const data = {
      principal: { kind: 'admin', scopes: ['admin'], credential_id: 'demo' },
      params: {},
      query: {},
      body: { users: [{ email: PORTAL_OWNER_EMAIL, password: secrets.PORTAL_DEMO_PASSWORD, role: 'owner', partner_id: partnerId }] },
      request_id: `demo_${randomBytes(4).toString('hex')}`,
    };
    const msg = await bus.nc.request(subject, JSON.stringify({ id: randomBytes(8).toString('hex'), pattern: subject, data }), {
      timeout: 15_000,
    });
    const reply = JSON.parse(new TextDecoder().decode(msg.data)) as { response?: { ok?: boolean; problem?: unknown } };
    if (!reply.response?.ok) throw new Error(`seeding the demo owner failed: ${JSON.stringify(reply.response?.problem ?? reply)}`);
  } finally {
    await closeBus(bus);
  }
}

/** The development mail catcher (scripts/mailbox.ts), started when SMTP_URL is not set: every service mails it. */
let mailbox: Mailbox | undefined;
function mailEnv(name: string): Record<string, string> {
  if (!mailbox) return {};
  return {
    SMTP_URL: mailbox.smtpUrl,
    ...(name === 'billing' && process.env.EXECUTIVE_REPORT_RECIPIENTS === undefined
      ? { EXECUTIVE_REPORT_RECIPIENTS: 'executives@partner-platform.dev' }
      : {}),
  };
}

function envFor(name: string, healthPort: number): NodeJS.ProcessEnv {
  return {
    ...secrets,
    ...process.env,
    NATS_URL: config.NATS_URL,
    STREAM_NAME: config.STREAM_NAME,
    SUBJECT_PREFIX: config.SUBJECT_PREFIX,
    RPC_PREFIX: config.RPC_PREFIX,
    DB_PREFIX: config.DB_PREFIX,
    DATABASE_URL_TEMPLATE: config.DATABASE_URL_TEMPLATE,
    LOG_LEVEL: config.LOG_LEVEL,
    HEALTH_PORT: String(healthPort),
    ...devOutbound(name),
    ...mailEnv(name),
    ...(name === 'partner-registry' ? portalEnv() : {}),
    ...(name === 'gateway'
      ? { GATEWAY_PORT: String(ports.gateway), GATEWAY_HOST: config.GATEWAY_HOST, PLATFORM_ADMIN_API_KEY: adminKey }
      : {}),
  };
}

function startService(name: string, index: number, restarts: number[] = []): Running {
  const healthPort = ports.healthBase + 1 + index;
  // Compiled ahead of time (main() builds dist/ once): plain JavaScript on Node, no runtime transform.
  const child = spawn(process.execPath, [...runtimeFlags(name), compiledEntry(name)], {
    cwd: ROOT,
    env: { ...RUNTIME_ENV, ...envFor(name, healthPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tag = paint(COLORS[index % COLORS.length] as number, `[${name}]`.padEnd(24));
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.on('data', (b: Buffer) => {
      buf += b.toString();
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim()) process.stdout.write(`${tag} ${pretty(line)}\n`);
        i = buf.indexOf('\n');
      }
    });
  }
  const r: Running = { name, child, healthPort, restarts };
  child.on('exit', (code, signal) => {
    if (shuttingDown) return;
    const now = Date.now();
    const recent = r.restarts.filter((t) => now - t < restartPolicy.windowMs);
    const windowS = Math.round(restartPolicy.windowMs / 1000);
    if (recent.length >= restartPolicy.budget) {
      say(
        `${name} exited (${signal ?? code}); giving up: ${recent.length} restarts in the last ${windowS} s (budget ${restartPolicy.budget} per ${windowS} s)`,
      );
      return;
    }
    const delay = Math.min(restartPolicy.baseMs * 2 ** recent.length, restartPolicy.maxMs);
    say(
      `${name} exited (${signal ?? code}); restarting in ${delay} ms (restart ${recent.length + 1} of ${restartPolicy.budget} allowed per ${windowS} s)`,
    );
    setTimeout(() => {
      if (!shuttingDown) running.set(name, startService(name, index, [...recent, Date.now()]));
    }, delay);
  });
  return r;
}

async function waitHttp(url: string, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function stopAll(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  say(`${signal}: stopping ${running.size} services`);
  // Gateway first (stop taking requests), then the rest.
  const order = [...running.values()].sort((a, b) => (a.name === 'gateway' ? -1 : b.name === 'gateway' ? 1 : 0));
  for (const r of order) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) {
      // Ctrl-C in a terminal signals the whole process group: the service may have stopped already.
      say(`${r.name} stopped`);
      continue;
    }
    const exited = new Promise((res) => r.child.once('exit', res));
    r.child.kill('SIGTERM');
    const t = setTimeout(() => r.child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
    say(`${r.name} stopped`);
  }
  await mailbox?.close();
  await fakeStripe?.close();
}

let demoOwner = false;

async function demo(base: string): Promise<boolean> {
  const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  let stepNo = 0;
  const step = (text: string) => say(`${paint(1, `demo ${++stepNo}.`)} ${text}`);
  try {
    step('create a partner: POST /v1/partners');
    const created = await fetch(`${base}/v1/partners`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': `demo-${randomBytes(6).toString('hex')}` },
      body: JSON.stringify({ name: 'Acme Insurance Brokers', type: 'technology', contact_email: 'partners@acme.example' }),
    });
    const partner = (await created.json()) as { id: string; status: string };
    if (created.status !== 201) throw new Error(`create partner answered ${created.status}: ${JSON.stringify(partner)}`);
    say(`   → 201 partner ${partner.id} (${partner.status})`);

    step('activate it: POST /v1/partners/{id}/activate');
    const act = await fetch(`${base}/v1/partners/${partner.id}/activate`, { method: 'POST', headers: auth, body: '{}' });
    say(`   → ${act.status} ${((await act.json()) as { status?: string }).status ?? ''}`);

    step(`give it a portal owner (${PORTAL_OWNER_EMAIL}) who signs in at ${base}/portal`);
    await seedDemoOwner(partner.id);
    demoOwner = true;

    const withWebhooks = SERVICES.includes('webhook-dispatcher');
    const receiver = withWebhooks ? await startReceiver() : undefined;
    let secret = '';
    if (receiver) {
      step(`subscribe the partner to lead.* webhooks: POST /v1/webhook-endpoints → ${receiver.url}`);
      const ep = await fetch(`${base}/v1/webhook-endpoints`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ partner_id: partner.id, url: receiver.url, event_types: ['lead.*'], description: 'demo receiver' }),
      });
      const epBody = (await ep.json()) as { id?: string; secret?: string };
      if (ep.status !== 201 || !epBody.secret) throw new Error(`create webhook endpoint answered ${ep.status}: ${JSON.stringify(epBody)}`);
      secret = epBody.secret;
      say(`   → 201 endpoint ${epBody.id} (signing secret ${secret.slice(0, 10)}…)`);
    }

    step('publish a lead.created business event: POST /v1/events');
    const eventId = `evt_demo_${randomBytes(6).toString('hex')}`;
    const published = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        specversion: '1.0',
        id: eventId,
        source: 'https://acme.example/crm',
        type: 'lead.created',
        time: new Date().toISOString(),
        partnerid: partner.id,
        data: { lead_id: 'lead_001', email: 'jane.doe@example.com', first_name: 'Jane', last_name: 'Doe', source: 'web' },
      }),
    });
    const pub = (await published.json()) as { data?: { id: string; seq: number }[] };
    if (published.status !== 202) throw new Error(`publish answered ${published.status}: ${JSON.stringify(pub)}`);
    const seq = pub.data?.[0]?.seq;
    say(`   → 202 event ${eventId} stored at stream sequence ${seq}`);

    if (receiver) {
      step('the dispatcher delivers it as a signed webhook (Standard Webhooks)');
      const delivery = await waitUntil(() => receiver.received[0], { timeoutMs: 15_000, what: 'a webhook delivery' }).finally(() =>
        receiver.close(),
      );
      const verified = new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>) as {
        id: string;
        type: string;
      };
      say(`   → received webhook-id ${delivery.headers['webhook-id']}, signature verified, event ${verified.id} (${verified.type})`);
      if (verified.id !== eventId) throw new Error(`the delivered event ${verified.id} is not the published ${eventId}`);
    }

    step('read both back: GET /v1/partners/{id} and the event from the stream');
    const got = await fetch(`${base}/v1/partners/${partner.id}`, { headers: auth });
    const gotBody = (await got.json()) as { id: string; name: string; status: string };
    say(`   → ${got.status} partner ${gotBody.id} "${gotBody.name}" status=${gotBody.status}`);
    const bus = await connectBus({ url: config.NATS_URL, name: 'demo', stream: config.STREAM_NAME, prefix: config.SUBJECT_PREFIX });
    try {
      const m = await bus.jsm.streams.getMessage(config.STREAM_NAME, { seq: Number(seq) });
      const ev = m ? (JSON.parse(new TextDecoder().decode(m.data)) as { type: string; partnerid: string; data: unknown }) : undefined;
      say(`   → stream #${seq} on ${m?.subject}: ${ev?.type} for ${ev?.partnerid} ${JSON.stringify(ev?.data)}`);
      if (ev?.type !== 'lead.created' || got.status !== 200 || gotBody.status !== 'active') throw new Error('read-back did not match');
    } finally {
      await closeBus(bus);
    }
    const withRollback = SERVICES.includes('rollback-orchestrator');
    if (withRollback) await demoRollback(base, auth, partner.id, step);
    const withMarketplace = SERVICES.includes('marketplace') && SERVICES.includes('partner-registry');
    if (withMarketplace) await demoMarketplace(base, auth, partner.id, step, say);
    const withBilling = SERVICES.includes('billing');
    if (withBilling) await demoBilling(base, auth, partner.id, step, say, mailbox);
    if (fakeStripe && SERVICES.includes('billing')) await demoStripe(base, auth, partner.id, fakeStripe, step, say);
    say(
      paint(
        32,
        `demo succeeded: partner created and activated, lead.created published${withWebhooks ? ', delivered as a verified webhook' : ''} and read back${withRollback ? '; a PathCanary incident turned its flag off once (rollback completed)' : ''}${withMarketplace ? '; its application listed, found by a misspelled search, installed, reviewed and answered' : ''}${withBilling ? '; its month invoiced, the PDF served and the invoice mailed' : ''}`,
      ),
    );
    return true;
  } catch (err) {
    say(paint(31, `demo failed: ${(err as Error).message}`));
    return false;
  }
}

/**
 * The PathCanary path: a rollback policy for the demo partner whose flag provider is the conformance kit's
 * reference partner flag webhook on loopback, an incident reported through the gateway, the flag turned off
 * exactly once, and the incident's timeline (the audit trail) read back.
 */
async function demoRollback(base: string, auth: Record<string, string>, partnerId: string, step: (text: string) => void): Promise<void> {
  const token = `demo-flag-token-${randomBytes(12).toString('hex')}`;
  const flags = await startReferencePartner({ token });
  try {
    const customer = `demo-shop-${randomBytes(4).toString('hex')}`;
    step(
      `a rollback policy for customer ${customer}: POST /v1/rollback/policies, its flag provider the reference partner webhook at ${flags.url}`,
    );
    const created = await fetch(`${base}/v1/rollback/policies`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        partner_id: partnerId,
        customer_id: customer,
        mode: 'auto',
        providers: [{ id: 'acme-flags', kind: 'partner_webhook', base_url: flags.url, token }],
        journeys: [{ funnel: 'checkout', flags: [{ provider_id: 'acme-flags', flag_key: 'new-checkout' }] }],
      }),
    });
    const policy = (await created.json()) as { id?: string };
    if (created.status !== 201) throw new Error(`create rollback policy answered ${created.status}: ${JSON.stringify(policy)}`);
    say(`   → 201 policy ${policy.id} (mode auto, flag new-checkout at acme-flags)`);

    const incidentId = `pc-demo-${randomBytes(4).toString('hex')}`;
    step(`PathCanary reports a broken checkout: POST /v1/incidents (${incidentId}, suspect flag new-checkout)`);
    const reported = await fetch(`${base}/v1/incidents`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({
        partner_id: partnerId,
        incident_id: incidentId,
        customer_id: customer,
        journey: { funnel: 'checkout', step: 'payment', url: 'https://shop.acme.example/checkout/pay' },
        severity: 'critical',
        detected_at: new Date().toISOString(),
        evidence: { error: 'TypeError: cannot read properties of undefined (reading "total")' },
        suspects: { pull_requests: [], flags: ['new-checkout'] },
      }),
    });
    const accepted = (await reported.json()) as { actions?: { kind: string; target?: unknown }[] };
    if (reported.status !== 202) throw new Error(`report incident answered ${reported.status}: ${JSON.stringify(accepted)}`);
    say(`   → 202 planned: ${(accepted.actions ?? []).map((a) => a.kind).join(', ') || 'nothing'}`);

    step('the rollback-orchestrator turns the flag off at the partner, and the incident is read back: GET /v1/incidents/{id}');
    type Incident = { rollback: { status: string } | null; timeline: { at: string; type: string; actor: string; summary: string }[] };
    const deadline = Date.now() + 20_000;
    let incident: Incident | undefined;
    while (Date.now() < deadline) {
      const r = await fetch(`${base}/v1/incidents/${incidentId}`, { headers: auth });
      if (r.status === 200) {
        const body = (await r.json()) as Incident;
        const status = body.rollback?.status;
        if (status && status !== 'executing') {
          incident = body;
          break;
        }
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    if (!incident) throw new Error('the rollback did not finish within 20 s');
    const toggles = flags.toggles.filter((t) => t.incident_id === incidentId);
    say(
      `   → flag new-checkout at the partner: ${flags.flags.get('new-checkout') === false ? 'off' : 'on'}, toggled ${toggles.length} time(s); rollback ${incident.rollback?.status}`,
    );
    for (const t of incident.timeline) say(`     ${t.at}  ${t.type.padEnd(26)} ${t.actor}: ${t.summary}`);
    if (incident.rollback?.status !== 'completed') throw new Error(`the rollback ended ${incident.rollback?.status}, not completed`);
    if (toggles.length !== 1 || toggles[0]?.action !== 'disable' || flags.flags.get('new-checkout') !== false)
      throw new Error(`the flag was toggled ${toggles.length} times (${toggles.map((t) => t.action).join(', ')}), not turned off once`);
    say('   → rollback step succeeded: flag turned off once, timeline recorded');
  } finally {
    await flags.close();
  }
}

async function main() {
  if (!SERVICES.includes('gateway')) throw new Error('services/gateway/src/main.ts is missing: nothing would answer HTTP');
  say(`services: ${SERVICES.join(', ')}`);
  const built = buildDist();
  say(
    `compiled ${built.services.length} services and ${built.packages.length} packages to dist/ in ${(built.ms / 1000).toFixed(1)} s (run as node dist/services/<name>/src/main.js)`,
  );
  // Printed before anything can fail, so a start that stops half-way still shows the credential it used.
  if (!config.PLATFORM_ADMIN_API_KEY) say(`admin API key (development, kept in .tools/dev-secrets.json and reused): ${adminKey}`);
  const bus = await connectBus({ url: config.NATS_URL, name: 'start', stream: config.STREAM_NAME, prefix: config.SUBJECT_PREFIX });
  const s = await ensureStream(bus.jsm, StreamSettingsSchema.parse(config));
  say(`stream ${config.STREAM_NAME} (${config.SUBJECT_PREFIX}.>) ${s.created ? 'created' : s.updated ? 'updated' : 'ready'}`);
  await closeBus(bus);
  for (const name of SERVICES) await ensureDatabase(databaseUrl(config, name));
  say(`databases ready: ${SERVICES.map((n) => databaseUrl(config, n).split('/').pop()).join(', ')}`);

  process.once('SIGINT', () => void stopAll('SIGINT').then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll('SIGTERM').then(() => process.exit(0)));

  ports = await choosePorts({
    root: ROOT,
    services: SERVICES.length,
    host: config.GATEWAY_HOST,
    env: process.env,
    defaults: { gateway: config.GATEWAY_PORT, healthBase: config.HEALTH_PORT_BASE },
  });
  say(`ports: gateway ${ports.gateway}, services ${ports.healthBase + 1}–${ports.healthBase + SERVICES.length} (${ports.why})`);
  const base = `http://${config.GATEWAY_HOST}:${ports.gateway}`;
  // Stripe cannot run here: unless STRIPE_API_BASE names a Stripe, billing talks to a fake Stripe on loopback, whose
  // signed webhooks go to the gateway's /v1/billing/webhooks/stripe.
  if (config.NODE_ENV !== 'production' && !process.env.STRIPE_API_BASE && secrets.STRIPE_API_KEY && secrets.STRIPE_WEBHOOK_SECRET) {
    fakeStripe = await startFakeStripe({
      apiKey: secrets.STRIPE_API_KEY,
      webhookSecret: secrets.STRIPE_WEBHOOK_SECRET,
      webhookUrl: `${base}/v1/billing/webhooks/stripe`,
    });
    secrets.STRIPE_API_BASE = fakeStripe.url;
    say(`fake stripe    ${fakeStripe.url}  (webhooks → ${base}/v1/billing/webhooks/stripe)`);
  }
  if (config.NODE_ENV !== 'production' && !process.env.SMTP_URL) {
    mailbox = await startMailbox({ smtpPort: ports.healthBase + 90, httpPort: ports.healthBase + 91 });
    say(`mailbox: services mail ${mailbox.smtpUrl}; read them at ${mailbox.webUrl}`);
  }
  SERVICES.forEach((name, i) => {
    running.set(name, startService(name, i));
  });
  const readiness = await Promise.all(
    SERVICES.map(async (name) => {
      const r = running.get(name) as Running;
      const url = name === 'gateway' ? `${base}/readyz` : `http://127.0.0.1:${r.healthPort}/readyz`;
      return [name, await waitHttp(url)] as const;
    }),
  );
  for (const [name, ok] of readiness) if (!ok) say(paint(31, `${name} did not become ready`));
  if (readiness.some(([, ok]) => !ok)) {
    await stopAll('startup failure');
    process.exit(1);
  }
  say(paint(32, `all ${SERVICES.length} services ready`));
  let demoOk = true;
  if (config.PLATFORM_DEMO === '1') demoOk = await demo(base);
  say(`gateway        ${base}`);
  say(`portal         ${base}/portal`);
  if (config.NODE_ENV !== 'production') {
    say(`  admin sign-in ${PORTAL_ADMIN_EMAIL} / ${secrets.PORTAL_DEMO_PASSWORD}  (.tools/dev-secrets.json)`);
    say(`  admin console ${base}/portal/admin/partners  (partner and application review, operations, platform admins)`);
    if (demoOwner)
      say(`  owner sign-in ${PORTAL_OWNER_EMAIL} / ${secrets.PORTAL_DEMO_PASSWORD}  (the demo partner Acme Insurance Brokers)`);
  }
  say(`API reference  ${base}/docs  (OpenAPI: ${base}/openapi.json)`);
  say(`metrics        ${base}/metrics`);
  if (mailbox) say(`mailbox        ${mailbox.webUrl}  (every mail the services sent: invoices with PDF, invitations)`);
  if (fakeStripe) say(`fake stripe    ${fakeStripe.url}  (STRIPE_API_KEY / STRIPE_WEBHOOK_SECRET in .tools/dev-secrets.json)`);
  if (!config.PLATFORM_ADMIN_API_KEY) say(`admin API key  ${adminKey}  (.tools/dev-secrets.json)`);
  for (const r of running.values()) if (r.name !== 'gateway') say(`${r.name.padEnd(14)} http://127.0.0.1:${r.healthPort}/readyz  /metrics`);
  for (const l of tracingHint(process.env)) say(l);
  say(demoOk ? 'running; Ctrl-C stops everything' : 'running (demo failed, see above); Ctrl-C stops everything');
}

main().catch(async (err) => {
  say(paint(31, `start failed: ${(err as Error).stack ?? err}`));
  await stopAll('error');
  process.exit(1);
});
