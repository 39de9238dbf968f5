import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { Principal } from '@pep/contracts';
import { rpcCall } from '@pep/service';
import { createTestBus, freePort, serviceEnv, spawnService, type TestNames, waitReady } from '@pep/testing';
import { Webhooks } from '@octokit/webhooks';
import { type FakeGithub, startFakeGithub } from '../fake-github/server.ts';

export const admin: Principal = { kind: 'admin', scopes: ['admin'], credential_id: 'key_admin' };
export const WEBHOOK_SECRET = 'gh-webhook-secret-123';
export const APP_ID = 4242;

/** A GitHub App key pair as GitHub issues it (PKCS#1 PEM). */
export function appKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicKey };
}

/** The fake GitHub plus github-bridge as its own process, pointed at it. */
export async function startBridge(names: TestNames, env: Record<string, string> = {}, services = ['github-bridge']) {
  const keys = appKeys();
  const github: FakeGithub = await startFakeGithub({ appId: APP_ID, publicKey: keys.publicKey });
  const t = await createTestBus(names, services);
  const healthPort = await freePort();
  const proc = spawnService(
    'github-bridge',
    serviceEnv(names, {
      HEALTH_PORT: String(healthPort),
      GITHUB_APP_ID: String(APP_ID),
      GITHUB_PRIVATE_KEY: keys.privateKeyPem,
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      GITHUB_API_URL: github.url,
      ...env,
    }),
  );
  await waitReady(`http://127.0.0.1:${healthPort}/readyz`, proc);
  const call = (
    pattern: string,
    req: { body?: unknown; params?: Record<string, string>; query?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) => rpcCall(t.bus.nc, `${names.RPC_PREFIX}.github-bridge.${pattern}`, { principal: admin, ...req }, 25_000);
  return {
    github,
    bus: t.bus,
    proc,
    call,
    keys,
    async stop() {
      await proc.stop();
      await github.close();
      await t.cleanup();
    },
  };
}

/** What the gateway forwards for a raw route: the body base64 and the lower-cased headers. */
export async function webhookRequest(event: string, payload: unknown, opts: { delivery?: string; secret?: string } = {}) {
  const raw = JSON.stringify(payload);
  return {
    body: { raw_base64: Buffer.from(raw).toString('base64'), content_type: 'application/json' },
    headers: {
      'x-github-event': event,
      'x-github-delivery': opts.delivery ?? randomUUID(),
      'x-hub-signature-256': await new Webhooks({ secret: opts.secret ?? WEBHOOK_SECRET }).sign(raw),
      'content-type': 'application/json',
    },
  };
}
