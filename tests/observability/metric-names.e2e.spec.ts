import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestBus, freePort, REPO_ROOT, type ServiceProcess, serviceEnv, spawnService, testNames, waitReady } from '@pep/testing';
import { startTestSmtpServer, type TestSmtpServer } from '@pep/mailer/testing';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposedNames, metricNamesIn } from './promql-names.ts';

// The dashboard and the alert rules may only name metrics the services really export: every service runs
// here as its own process and its /metrics is scraped, so a renamed or removed metric fails this test.
const SERVICES = ['gateway', 'partner-registry', 'webhook-dispatcher', 'billing', 'marketplace', 'github-bridge', 'rollback-orchestrator'];
const names = testNames('metrics');
const secrets = {
  PLATFORM_ADMIN_API_KEY: `sk_admin_${randomBytes(18).toString('hex')}`,
  WEBHOOK_SECRET_KEY: randomBytes(32).toString('hex'),
  ROLLBACK_SECRETS_KEY: randomBytes(32).toString('base64'),
  GITHUB_APP_ID: '1',
  GITHUB_PRIVATE_KEY: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  GITHUB_WEBHOOK_SECRET: randomBytes(24).toString('base64url'),
};
let world: Awaited<ReturnType<typeof createTestBus>>;
let smtp: TestSmtpServer;
const procs: ServiceProcess[] = [];
const metricsUrls = new Map<string, string>();

beforeAll(async () => {
  world = await createTestBus(names, SERVICES);
  // With a mail server configured, the registry sends partner emails (and reports their outcomes).
  smtp = await startTestSmtpServer();
  for (const service of SERVICES) {
    const port = await freePort();
    const env = serviceEnv(names, {
      ...secrets,
      SMTP_URL: smtp.url,
      ...(service === 'gateway' ? { GATEWAY_PORT: String(port) } : { HEALTH_PORT: String(port) }),
    });
    procs.push(spawnService(service, env));
    metricsUrls.set(service, `http://127.0.0.1:${port}`);
  }
  await Promise.all(procs.map((p) => waitReady(`${metricsUrls.get(p.name)}/readyz`, p, 120_000)));
});

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await smtp?.close();
  await world?.cleanup();
});

function expressions(): { where: string; expr: string }[] {
  const dir = join(REPO_ROOT, 'deploy/observability');
  const dashboard = JSON.parse(readFileSync(join(dir, 'grafana/platform-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { name: string; query?: { query?: string } | string }[] };
  };
  const out: { where: string; expr: string }[] = [];
  for (const p of dashboard.panels) for (const t of p.targets ?? []) out.push({ where: `dashboard panel "${p.title}"`, expr: t.expr });
  for (const v of dashboard.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = q ? /^label_values\((\w+),/.exec(q) : null;
    if (m) out.push({ where: `dashboard variable ${v.name}`, expr: m[1] as string });
  }
  const rules = parse(readFileSync(join(dir, 'prometheus/alerts.yml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[];
  };
  for (const g of rules.groups) for (const r of g.rules) out.push({ where: `alert ${r.alert}`, expr: r.expr });
  return out;
}

describe('dashboard and alert rules against the services', () => {
  it('names only metrics some running service exports on /metrics', async () => {
    const exported = new Map<string, string[]>();
    for (const [service, url] of metricsUrls) {
      const res = await fetch(`${url}/metrics`);
      expect(res.status, service).toBe(200);
      for (const n of exposedNames(await res.text())) exported.set(n, [...(exported.get(n) ?? []), service]);
    }
    const used = expressions();
    expect(used.length).toBeGreaterThan(40);
    const missing = used.flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
    // Every service answers its requests with RED metrics and reports its consumers' and projections' lag.
    for (const service of SERVICES.filter((s) => s !== 'gateway')) {
      expect(exported.get('rpc_server_requests_total'), service).toContain(service);
      expect(exported.get('projection_checkpoint_lag_events'), service).toContain(service);
    }
    expect(exported.get('gateway_http_requests_total')).toEqual(['gateway']);
    expect(exported.get('email_messages_total')).toEqual(expect.arrayContaining(['partner-registry', 'rollback-orchestrator']));
    expect(exported.get('jetstream_consumer_pending')).toEqual(expect.arrayContaining(['webhook-dispatcher', 'github-bridge']));
  });
});
