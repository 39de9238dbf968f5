import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { dropDatabase } from '@pep/db';
import { closeBus, connectBus } from '@pep/events';
import { bestEffort, dbUrl, freePort, NATS_URL, REPO_ROOT, serviceEnv, testNames, waitUntil } from '@pep/testing';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` as a user runs it (the orchestrator script, every service as its own process, the demo),
// isolated by its own stream, subjects, RPC prefix, databases and ports.
const names = testNames('start');

afterAll(async () => {
  const bus = await connectBus({ url: NATS_URL, name: 'cleanup', stream: names.STREAM_NAME, prefix: names.SUBJECT_PREFIX });
  await bestEffort('delete the stream', bus.jsm.streams.delete(names.STREAM_NAME));
  await closeBus(bus);
  for (const s of [
    'gateway',
    'partner-registry',
    'webhook-dispatcher',
    'rollback-orchestrator',
    'github-bridge',
    'billing',
    'marketplace',
  ]) {
    await bestEffort(`drop database ${s}`, dropDatabase(dbUrl(names, s)));
  }
});

describe('npm start', () => {
  it('starts every service, runs the demo successfully, and stops cleanly on SIGTERM', async () => {
    const gatewayPort = await freePort();
    const healthBase = 20_000 + Math.floor(Math.random() * 30_000);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...serviceEnv(names, { LOG_LEVEL: 'info', GATEWAY_PORT: String(gatewayPort), HEALTH_PORT_BASE: String(healthBase) }),
      NO_COLOR: '1',
    };
    // npm start generates billing's Stripe keys and runs the fake Stripe itself: the test world's placeholders stay out.
    for (const k of ['STRIPE_API_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_API_BASE']) delete env[k];
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/start.ts')], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      await waitUntil(() => (/demo (succeeded|failed)|start failed/.test(out) ? true : undefined), {
        timeoutMs: 150_000,
        what: 'the demo',
      });
      expect(out, out.slice(-5000)).toContain('demo succeeded');
      // The services ran compiled ahead of time (node dist/...), not through a runtime transform.
      expect(out).toMatch(/compiled \d+ services and \d+ packages to dist\//);
      expect(out).toMatch(/stream #\d+ on .*lead\.created/);
      // The PathCanary path: a policy pointing at the loopback reference partner (allowed in the dev stack, where
      // production would refuse it), an incident through the gateway, the flag turned off once, the timeline.
      expect(out).not.toMatch(/not allowed \(loopback\)/);
      expect(out).toMatch(/→ 201 policy \S+/);
      expect(out).toMatch(/→ 202 planned: flag_off/);
      expect(out).toMatch(/flag new-checkout at the partner: off, toggled 1 time\(s\); rollback completed/);
      expect(out).toMatch(/incident\.opened .*monitor/);
      expect(out).toMatch(/rollback\.action_succeeded/);
      expect(out).toContain('rollback step succeeded');
      expect(out).toMatch(/demo succeeded: .*rollback completed/);
      // Billing: the demo partner's period closed now, its PDF served, and the invoice mail caught by the dev mailbox.
      expect(out).toMatch(/→ invoice inv_\S+ number PEP-\d{6}, total 4900 minor units/);
      expect(out).toMatch(/→ mailed to partners@acme\.example with PEP-\d{6}\.pdf: http:\/\/127\.0\.0\.1:\d+\/messages\/\d+/);
      expect(out).toMatch(/mailbox {8}http:\/\/127\.0\.0\.1:\d+/);
      // Stripe: the fake Stripe collected that invoice (paid by its signed webhook) and the payout statement was shown.
      expect(out).toMatch(/fake stripe {4}http:\/\/127\.0\.0\.1:\d+/);
      expect(out).toMatch(/signed invoice\.payment_succeeded accepted; inv_\S+ is paid/);
      expect(out).toMatch(/payout po_\S+: paid \(transfer tr_\S+\)/);
      expect(out).toMatch(/payment +ch_\S+ {2}25000 × 20% \(first year\) = 5000/);
      // The admin key comes before any service starts (a failed start still shows it).
      const keyAt = out.indexOf('admin API key (development');
      expect(keyAt, out.slice(0, 3000)).toBeGreaterThan(-1);
      expect(keyAt).toBeLessThan(out.indexOf('services ready'));
      await waitUntil(() => (out.includes('Ctrl-C stops everything') ? true : undefined), { what: 'the URLs' });
      expect(out).toContain(`http://127.0.0.1:${gatewayPort}/docs`);
      const ready = await fetch(`http://127.0.0.1:${gatewayPort}/readyz`);
      expect(ready.status).toBe(200);
      // The portal and the printed sign-ins of the demo partner's owner and of a platform admin, which work.
      const base = `http://127.0.0.1:${gatewayPort}`;
      expect(out).toContain(`portal         ${base}/portal`);
      expect((await fetch(`${base}/portal`)).status).toBe(200);
      for (const who of ['owner', 'admin']) {
        const m = new RegExp(`${who} sign-in (\\S+) / (\\S+)`).exec(out);
        expect(m, `${who} sign-in printed`).not.toBeNull();
        const signIn = await fetch(`${base}/v1/auth/sign-in`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: base },
          body: JSON.stringify({ email: m?.[1], password: m?.[2] }),
        });
        expect(signIn.status, `${who} signs in`).toBe(200);
      }
    } finally {
      child.kill('SIGTERM');
    }
    const code = await exited;
    expect(code, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/gateway stopped/);
    expect(out).toMatch(/partner-registry stopped/);
    await expect(fetch(`http://127.0.0.1:${gatewayPort}/healthz`)).rejects.toThrow();
  });
});
