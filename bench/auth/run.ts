// bench/auth (`pnpm bench:auth`): what authentication costs on the hot path.
//  (a) the same gateway route without a credential and (b) with a partner API key (checksum, SHA-256, in-memory
//      hash lookup, the Redis-backed rate limiter with local leasing, last-used batching). The route is the
//      public raw webhook ingress, answered by a stub service process, so (a) and (b) differ only by auth.
//  (c) the OAuth token endpoint (client credentials, ES256 JWT access tokens): throughput and latency.
// Same load generator (autocannon), connections and duration. Ends with one JSON line: noauth_rps,
// apikey_rps, auth_overhead (1 - apikey/noauth), token_rps, token_p99_ms, ...
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { aggregateSubject, appendToAggregate, closeBus, connectBus, ensureStream, StreamSettingsSchema } from '@pep/events';
import { dropDatabase } from '@pep/db';
import { newId } from '@pep/runtime';
import { bestEffort, dbUrl, freePort, REPO_ROOT, serviceEnv, spawnService, testNames, waitReady, waitUntil } from '@pep/testing';
import autocannon from 'autocannon';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const TOKEN_CONNECTIONS = Number(process.env.BENCH_TOKEN_CONNECTIONS ?? 16);

/** What the setup reads of a created resource: its id and the string fields it answers (key, client id and secret). */
type Created = { id: string } & Record<string, string>;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const ROUTE = '/v1/github/webhooks';

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(name: string, opts: autocannon.Options, warm = true): Promise<Figures> {
  if (warm && WARMUP_S > 0) await autocannon({ ...opts, duration: WARMUP_S });
  const r = await autocannon({ ...opts, duration: DURATION_S });
  const f = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
  console.log(
    `${name.padEnd(28)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${String(f.p50).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms   non-2xx ${f.non2xx}  errors ${f.errors}`,
  );
  return f;
}

function waitLine(child: ChildProcess, pattern: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes(pattern)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${pattern}":\n${out}`)));
  });
}

async function main() {
  console.log(
    `bench/auth: ${CONNECTIONS} connections (${TOKEN_CONNECTIONS} for the token endpoint), ${ROUNDS} rounds of ${DURATION_S} s per case (+${WARMUP_S} s warm-up); node ${process.version}`,
  );
  const names = testNames('benchauth');
  const bus = await connectBus({ url: NATS_URL, name: 'bench-auth', stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await ensureStream(
    bus.jsm,
    StreamSettingsSchema.parse({ STREAM_NAME: names.STREAM_NAME, SUBJECT_PREFIX: names.SUBJECT_PREFIX, STREAM_MAX_AGE_HOURS: '1' }),
  );
  const adminKey = `sk_admin_${randomBytes(18).toString('hex')}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = serviceEnv(names, { LOG_LEVEL: 'warn', NODE_ENV: 'production', STREAM_MAX_AGE_HOURS: '1' });
  const registry = spawnService('partner-registry', { ...env, HEALTH_PORT: '0' });
  const gateway = spawnService('gateway', {
    ...env,
    GATEWAY_PORT: String(port),
    PLATFORM_ADMIN_API_KEY: adminKey,
    // The limiter runs on every request but never refuses one here: its cost is what is measured.
    RATE_LIMIT_STANDARD_PER_MIN: '1000000000',
  });
  const stub = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/auth/stub-service.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, NATS_URL, STUB_SUBJECT: `${names.RPC_PREFIX}.github-bridge.webhooks.receive` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await waitLine(stub, 'stub ready');
    await waitReady(`${url}/readyz`, gateway);
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Created;
    };
    const partner = await waitUntil(() =>
      admin('POST', '/v1/partners', { name: 'Bench', type: 'technology', contact_email: 'bench@example.com' }),
    );
    await admin('POST', `/v1/partners/${partner.id}/activate`, {});
    const key = (await admin('POST', `/v1/partners/${partner.id}/api-keys`, { name: 'bench', scopes: ['read:*'] })).key as string;
    const appId = newId('app');
    await appendToAggregate(bus, aggregateSubject(names.SUBJECT_PREFIX, 'application', appId), 0, [
      {
        specversion: '1.0',
        id: newId('evt'),
        source: 'urn:bench',
        type: 'application.created',
        time: new Date().toISOString(),
        datacontenttype: 'application/json',
        schemaversion: 1,
        partnerid: partner.id,
        data: { application_id: appId, partner_id: partner.id, name: 'Bench app', status: 'draft' },
      },
    ]);
    const client = await admin('POST', `/v1/applications/${appId}/oauth-clients`, { type: 'confidential', scopes: ['read:partners'] });
    const basic = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
    await waitUntil(
      async () => (await fetch(`${url}/v1/partners/${partner.id}`, { headers: { authorization: `Bearer ${key}` } })).status === 200,
    );
    const tokenBody = 'grant_type=client_credentials&scope=read%3Apartners';
    await waitUntil(async () => {
      const r = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: tokenBody,
      });
      return r.status === 200;
    });

    const body = '{"zen":"bench"}';
    const common = { url: `${url}${ROUTE}`, method: 'POST' as const, connections: CONNECTIONS, body };
    const json = { 'content-type': 'application/json' };
    // Interleaved rounds, alternating which case goes first, so load from elsewhere on the machine and a
    // warming process hit both cases alike; the figures are averaged over the rounds.
    const noauth: Figures[] = [];
    const apikey: Figures[] = [];
    const withKey = { ...common, headers: { ...json, authorization: `Bearer ${key}` } };
    for (let round = 0; round < ROUNDS; round++) {
      const warm = round === 0;
      if (round % 2 === 0) {
        noauth.push(await load(`(a) no credential   #${round + 1}`, { ...common, headers: json }, warm));
        apikey.push(await load(`(b) API key         #${round + 1}`, withKey, warm));
      } else {
        apikey.push(await load(`(b) API key         #${round + 1}`, withKey, warm));
        noauth.push(await load(`(a) no credential   #${round + 1}`, { ...common, headers: json }, warm));
      }
    }
    const avg = (xs: Figures[], k: keyof Figures) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
    const sum = (xs: Figures[], k: keyof Figures) => xs.reduce((a, x) => a + x[k], 0);
    const token = await load('(c) token endpoint (cc)', {
      url: `${url}/oauth/token`,
      method: 'POST',
      connections: TOKEN_CONNECTIONS,
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: tokenBody,
    });
    const noauthRps = avg(noauth, 'rps');
    const apikeyRps = avg(apikey, 'rps');
    const summary = {
      bench: 'auth',
      connections: CONNECTIONS,
      duration_s: DURATION_S,
      noauth_rps: Math.round(noauthRps),
      apikey_rps: Math.round(apikeyRps),
      auth_overhead: Number((1 - apikeyRps / noauthRps).toFixed(3)),
      rounds: ROUNDS,
      noauth_p99_ms: Math.max(...noauth.map((f) => f.p99)),
      apikey_p99_ms: Math.max(...apikey.map((f) => f.p99)),
      token_rps: Math.round(token.rps),
      token_p50_ms: token.p50,
      token_p99_ms: token.p99,
      non2xx: { noauth: sum(noauth, 'non2xx'), apikey: sum(apikey, 'non2xx'), token: token.non2xx },
      errors: { noauth: sum(noauth, 'errors'), apikey: sum(apikey, 'errors'), token: token.errors },
      floors: { auth_overhead_max: 0.1 },
    };
    console.log(JSON.stringify(summary));
  } finally {
    stub.kill('SIGTERM');
    await gateway.stop('SIGTERM');
    await registry.stop('SIGTERM');
    await bestEffort('delete the stream', bus.jsm.streams.delete(names.STREAM_NAME));
    await closeBus(bus);
    for (const s of ['gateway', 'partner-registry']) await bestEffort(`drop database ${s}`, dropDatabase(dbUrl(names, s)));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
