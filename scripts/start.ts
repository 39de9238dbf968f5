/**
 * `npm start`: provisions the stream and each service's database, starts every service as its own process
 * with readable prefixed logs, runs a short demo once (PLATFORM_DEMO=0 skips it), prints the URLs, and keeps
 * running until Ctrl-C / SIGTERM, when it stops every service cleanly (SIGTERM, then waits for each).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDatabase } from '@pep/db';
import { closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { baseConfigSchema, databaseUrl, loadConfig } from '@pep/runtime';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';

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
const SERVICES = ['partner-registry', 'webhook-dispatcher', 'rollback-orchestrator', 'github-bridge', 'marketplace', 'gateway'].filter(
  (s) => existsSync(join(ROOT, 'services', s, 'src', 'main.ts')),
);

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
  restarts: number;
}
const running = new Map<string, Running>();
let shuttingDown = false;

/**
 * Development secrets: services refuse to start without their keys (as they must in production), so for a
 * local run they are generated once and kept in .tools/dev-secrets.json (git-ignored), which keeps data that
 * was encrypted at rest readable across restarts. Values from the environment win.
 */
const DEV_SECRETS: Record<string, () => string> = {
  PLATFORM_ADMIN_API_KEY: () => `pk_admin_${randomBytes(24).toString('base64url')}`,
  WEBHOOK_SECRET_KEY: () => randomBytes(32).toString('base64'),
  ROLLBACK_SECRETS_KEY: () => randomBytes(32).toString('base64'),
  // A development GitHub App identity (api.github.com is not called until a policy needs a revert); set the
  // real App's id, private key and webhook secret to connect one.
  GITHUB_APP_ID: () => '1',
  GITHUB_PRIVATE_KEY: () =>
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  GITHUB_WEBHOOK_SECRET: () => randomBytes(24).toString('base64url'),
};
function devSecrets(): Record<string, string> {
  const file = join(ROOT, '.tools', 'dev-secrets.json');
  let stored: Record<string, string> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  let changed = false;
  for (const [name, make] of Object.entries(DEV_SECRETS)) {
    if (!stored[name]) {
      stored[name] = make();
      changed = true;
    }
  }
  if (changed) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  }
  const out: Record<string, string> = {};
  for (const name of Object.keys(DEV_SECRETS)) out[name] = process.env[name] ?? (stored[name] as string);
  return out;
}
const secrets = config.NODE_ENV === 'production' ? ({} as Record<string, string>) : devSecrets();
const adminKey = config.PLATFORM_ADMIN_API_KEY ?? secrets.PLATFORM_ADMIN_API_KEY ?? '';

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
    // The demo's webhook receiver listens on loopback, which the SSRF policy refuses unless allowlisted.
    ...(name === 'webhook-dispatcher' && config.NODE_ENV !== 'production' && !process.env.WEBHOOK_SSRF_ALLOWLIST
      ? { WEBHOOK_SSRF_ALLOWLIST: '127.0.0.1/32' }
      : {}),
    ...(name === 'gateway'
      ? { GATEWAY_PORT: String(config.GATEWAY_PORT), GATEWAY_HOST: config.GATEWAY_HOST, PLATFORM_ADMIN_API_KEY: adminKey }
      : {}),
  };
}

function startService(name: string, index: number, restarts = 0): Running {
  const healthPort = config.HEALTH_PORT_BASE + 1 + index;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'services', name, 'src', 'main.ts')], {
    cwd: ROOT,
    env: envFor(name, healthPort),
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
    say(`${name} exited (${signal ?? code}); ${r.restarts < 5 ? 'restarting' : 'giving up after 5 restarts'}`);
    if (r.restarts < 5) setTimeout(() => running.set(name, startService(name, index, r.restarts + 1)), 1000 * (r.restarts + 1));
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
}

/** A loopback HTTP receiver for the demo's webhook endpoint. */
async function startReceiver() {
  const received: { body: string; headers: IncomingHttpHeaders }[] = [];
  const waiters: (() => void)[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.writeHead(204).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    async next(timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while (received.length === 0 && Date.now() < deadline)
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      return received.shift();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function demo(base: string): Promise<boolean> {
  const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  const step = (n: number, text: string) => say(`${paint(1, `demo ${n}.`)} ${text}`);
  try {
    step(1, 'create a partner: POST /v1/partners');
    const created = await fetch(`${base}/v1/partners`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': `demo-${randomBytes(6).toString('hex')}` },
      body: JSON.stringify({ name: 'Acme Insurance Brokers', type: 'technology', contact_email: 'partners@acme.example' }),
    });
    const partner = (await created.json()) as { id: string; status: string };
    if (created.status !== 201) throw new Error(`create partner answered ${created.status}: ${JSON.stringify(partner)}`);
    say(`   → 201 partner ${partner.id} (${partner.status})`);

    step(2, 'activate it: POST /v1/partners/{id}/activate');
    const act = await fetch(`${base}/v1/partners/${partner.id}/activate`, { method: 'POST', headers: auth, body: '{}' });
    say(`   → ${act.status} ${((await act.json()) as { status?: string }).status ?? ''}`);

    const withWebhooks = SERVICES.includes('webhook-dispatcher');
    const receiver = withWebhooks ? await startReceiver() : undefined;
    let secret = '';
    if (receiver) {
      step(3, `subscribe the partner to lead.* webhooks: POST /v1/webhook-endpoints → ${receiver.url}`);
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

    step(receiver ? 4 : 3, 'publish a lead.created business event: POST /v1/events');
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
      step(5, 'the dispatcher delivers it as a signed webhook (Standard Webhooks)');
      const delivery = await receiver.next(15_000);
      await receiver.close();
      if (!delivery) throw new Error('no webhook delivery arrived within 15 s');
      const verified = new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>) as {
        id: string;
        type: string;
      };
      say(`   → received webhook-id ${delivery.headers['webhook-id']}, signature verified, event ${verified.id} (${verified.type})`);
      if (verified.id !== eventId) throw new Error(`the delivered event ${verified.id} is not the published ${eventId}`);
    }

    step(receiver ? 6 : 4, 'read both back: GET /v1/partners/{id} and the event from the stream');
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
    say(
      paint(
        32,
        `demo succeeded: partner created and activated, lead.created published${withWebhooks ? ', delivered as a verified webhook' : ''} and read back`,
      ),
    );
    return true;
  } catch (err) {
    say(paint(31, `demo failed: ${(err as Error).message}`));
    return false;
  }
}

async function main() {
  if (!SERVICES.includes('gateway')) throw new Error('services/gateway/src/main.ts is missing: nothing would answer HTTP');
  say(`services: ${SERVICES.join(', ')}`);
  const bus = await connectBus({ url: config.NATS_URL, name: 'start', stream: config.STREAM_NAME, prefix: config.SUBJECT_PREFIX });
  const s = await ensureStream(bus.jsm, StreamSettingsSchema.parse(config));
  say(`stream ${config.STREAM_NAME} (${config.SUBJECT_PREFIX}.>) ${s.created ? 'created' : s.updated ? 'updated' : 'ready'}`);
  await closeBus(bus);
  for (const name of SERVICES) await ensureDatabase(databaseUrl(config, name));
  say(`databases ready: ${SERVICES.map((n) => databaseUrl(config, n).split('/').pop()).join(', ')}`);

  process.once('SIGINT', () => void stopAll('SIGINT').then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll('SIGTERM').then(() => process.exit(0)));

  SERVICES.forEach((name, i) => {
    running.set(name, startService(name, i));
  });
  const base = `http://${config.GATEWAY_HOST}:${config.GATEWAY_PORT}`;
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
  if (!config.PLATFORM_ADMIN_API_KEY) say(`admin API key (development, kept in .tools/dev-secrets.json): ${adminKey}`);
  let demoOk = true;
  if (config.PLATFORM_DEMO === '1') demoOk = await demo(base);
  say(`gateway        ${base}`);
  say(`API reference  ${base}/docs  (OpenAPI: ${base}/openapi.json)`);
  say(`metrics        ${base}/metrics`);
  for (const r of running.values()) if (r.name !== 'gateway') say(`${r.name.padEnd(14)} http://127.0.0.1:${r.healthPort}/readyz  /metrics`);
  say(demoOk ? 'running; Ctrl-C stops everything' : 'running (demo failed, see above); Ctrl-C stops everything');
}

main().catch(async (err) => {
  say(paint(31, `start failed: ${(err as Error).stack ?? err}`));
  await stopAll('error');
  process.exit(1);
});
