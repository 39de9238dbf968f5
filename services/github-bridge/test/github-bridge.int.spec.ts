import { createLogger } from '@pep/runtime';
import { testNames, waitUntil } from '@pep/testing';
import { createGithubClient } from '../src/github/client.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appKeys, startBridge, webhookRequest } from './support/bridge.ts';

const names = testNames('ghb');
let b: Awaited<ReturnType<typeof startBridge>>;
const REPO = 'acme/shop';

const context = {
  customer_id: 'cus_1',
  journey: 'checkout / payment (https://shop.example.com/pay)',
  severity: 'critical',
  detected_at: '2026-03-01T12:00:00Z',
  error: 'Pay button dead',
};
const revert = (pull_number: number, incident_id: string) =>
  b.call('reverts.open', { body: { incident_id, repository: REPO, pull_number, context } });

/** A pull request that changes `files` on its own branch, merged into main. */
function mergedPull(branch: string, files: Record<string, string | null>, title = `Change ${branch}`) {
  b.github.commit(REPO, branch, files, title);
  const pr = b.github.openPull(REPO, branch, title);
  b.github.merge(REPO, pr.number);
  return pr.number;
}

beforeAll(async () => {
  b = await startBridge(names, { GITHUB_MAX_RATE_WAIT_MS: '5000' });
  b.github.createRepo(REPO, {
    'src/pay.ts': 'export const pay = 1;\n',
    'src/cart.ts': 'export const cart = 1;\n',
    'README.md': '# shop\n',
  });
});
afterAll(async () => {
  await b?.stop();
});

describe('github-bridge against the fake GitHub (OpenAPI-checked, real git state)', () => {
  it('opens a revert pull request through the Git Data API, with the incident in its body, once', async () => {
    const n = mergedPull('feature-pay', { 'src/pay.ts': 'export const pay = 2; // broken\n', 'src/new.ts': 'export {}\n' });
    const r = await revert(n, 'inc-1');
    expect(r.ok && r.status).toBe(201);
    const body = (r.ok ? r.body : {}) as { branch: string; revert_number: number; created: boolean; url: string };
    expect(body).toMatchObject({
      branch: `revert-${n}-inc-1`,
      created: true,
      url: `https://github.com/${REPO}/pull/${body.revert_number}`,
    });
    expect(b.github.fileAt(REPO, body.branch, 'src/pay.ts')).toBe('export const pay = 1;\n');
    expect(b.github.fileAt(REPO, body.branch, 'src/new.ts')).toBeUndefined();
    const pr = b.github.repos.get(REPO)?.pulls.get(body.revert_number);
    expect(pr).toMatchObject({ head: body.branch, base: 'main', state: 'open' });
    expect(pr?.title).toBe(`Revert "Change feature-pay"`);
    expect(pr?.body).toContain('`inc-1`');
    expect(pr?.body).toContain('Pay button dead');

    const again = await revert(n, 'inc-1');
    expect(again.ok && again.status).toBe(200);
    expect(again.ok && again.body).toMatchObject({ created: false, revert_number: body.revert_number });
    expect([...(b.github.repos.get(REPO)?.pulls.values() ?? [])].filter((p) => p.head === body.branch)).toHaveLength(1);
    const ops = b.github.log.map((l) => l.operationId);
    expect(ops).toEqual(
      expect.arrayContaining([
        'apps/get-repo-installation',
        'apps/create-installation-access-token',
        'pulls/get',
        'git/get-commit',
        'git/get-ref',
        'git/create-commit',
        'git/create-ref',
        'pulls/create',
      ]),
    );
    expect(b.github.violations).toEqual([]);
  });

  it('reverts only the pull request when the base moved elsewhere, and refuses when the same files moved', async () => {
    const n = mergedPull('feature-cart', { 'src/cart.ts': 'export const cart = 2;\n' });
    b.github.commit(REPO, 'main', { 'README.md': '# shop v2\n' }, 'docs');
    const ok = await revert(n, 'inc-2');
    expect(ok.ok).toBe(true);
    const branch = `revert-${n}-inc-2`;
    expect(b.github.fileAt(REPO, branch, 'src/cart.ts')).toBe('export const cart = 1;\n');
    expect(b.github.fileAt(REPO, branch, 'README.md')).toBe('# shop v2\n');

    const m = mergedPull('feature-cart-2', { 'src/cart.ts': 'export const cart = 3;\n' });
    b.github.commit(REPO, 'main', { 'src/cart.ts': 'export const cart = 4; // hotfix\n' }, 'hotfix');
    const conflict = await revert(m, 'inc-3');
    expect(conflict.ok).toBe(false);
    expect(conflict.ok ? null : conflict.problem).toMatchObject({ status: 422, reason: 'conflict' });
    expect(conflict.ok ? '' : conflict.problem.detail).toContain('src/cart.ts');
    expect(b.github.repos.get(REPO)?.refs.has(`heads/revert-${m}-inc-3`)).toBe(false);
  });

  it('fails a pull request that was never merged, with the reason', async () => {
    b.github.commit(REPO, 'wip', { 'src/wip.ts': 'x\n' }, 'wip');
    const pr = b.github.openPull(REPO, 'wip', 'WIP');
    const r = await revert(pr.number, 'inc-4');
    expect(r.ok ? null : r.problem).toMatchObject({ status: 422, reason: 'not_merged' });
    expect(r.ok ? '' : r.problem.detail).toContain('never merged');
  });

  it('honours secondary rate limits (retry-after) and an exhausted primary limit (x-ratelimit-reset), and reuses the installation token', async () => {
    const tokensBefore = b.github.tokensIssued.length;
    const n = mergedPull('feature-rl', { 'src/rl.ts': 'x\n' });
    b.github.secondaryLimit(1, 1);
    const started = Date.now();
    const r = await revert(n, 'inc-5');
    expect(r.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const limited = b.github.log.filter((l) => l.status === 403);
    expect(limited.length).toBeGreaterThanOrEqual(1);

    const k = mergedPull('feature-rl-2', { 'src/rl2.ts': 'y\n' });
    b.github.primaryLimit(1, 2);
    const r2 = await revert(k, 'inc-6');
    expect(r2.ok).toBe(true);
    // Only the remaining call went out before the reset; after it the bridge waited instead of hammering.
    expect(b.github.log.filter((l) => l.status === 403).length).toBe(limited.length);
    expect(b.github.tokensIssued.length).toBe(tokensBefore);
    expect(b.github.violations).toEqual([]);
  });

  it('verifies, dedupes and translates webhooks into events and repository insights', async () => {
    const repository = { id: 555, full_name: 'acme/insights', name: 'insights', owner: { login: 'acme' } };
    const at = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();
    const pr = (number: number, merged: boolean, created: string, mergedAt: string | null) => ({
      number,
      title: `PR ${number}`,
      user: { login: 'dev' },
      base: { ref: 'main' },
      head: { ref: `f${number}` },
      html_url: `https://github.com/acme/insights/pull/${number}`,
      created_at: created,
      merged,
      merged_at: mergedAt,
      closed_at: mergedAt,
      merge_commit_sha: merged ? 'abc' : null,
    });
    const deliveries = [
      ['pull_request', { action: 'opened', pull_request: pr(1, false, at(10), null), repository }],
      ['pull_request', { action: 'closed', pull_request: pr(1, true, at(10), at(6)), repository }],
      ['pull_request', { action: 'opened', pull_request: pr(2, false, at(5), null), repository }],
      ['pull_request', { action: 'closed', pull_request: pr(2, true, at(5), at(3)), repository }],
      ['pull_request', { action: 'opened', pull_request: pr(3, false, at(2), null), repository }],
      [
        'push',
        {
          ref: 'refs/heads/main',
          before: 'a',
          after: 'b',
          commits: [{ distinct: true }, { distinct: true }, { distinct: false }],
          pusher: { name: 'dev' },
          repository,
        },
      ],
      ['issues', { action: 'opened', issue: { number: 10, created_at: at(1) }, repository }],
      ['issues', { action: 'opened', issue: { number: 11, created_at: at(1) }, repository }],
      ['issues', { action: 'closed', issue: { number: 10, closed_at: at(0) }, repository }],
      ['release', { action: 'published', release: { tag_name: 'v1', name: 'v1', published_at: at(0) }, repository }],
      [
        'installation',
        { action: 'created', installation: { id: 77, account: { login: 'acme' } }, repositories: [{ full_name: 'acme/insights' }] },
      ],
    ] as const;
    const first = await webhookRequest(deliveries[0][0], deliveries[0][1]);
    const r1 = await b.call('webhooks.receive', first);
    expect(r1.ok && r1.body).toEqual({ delivery_id: first.headers['x-github-delivery'], duplicate: false });
    // GitHub redelivers the same delivery: answered, not translated twice.
    const dup = await b.call('webhooks.receive', first);
    expect(dup.ok && dup.body).toMatchObject({ duplicate: true });
    for (const [event, payload] of deliveries.slice(1)) {
      const r = await b.call('webhooks.receive', await webhookRequest(event, payload));
      expect(r.ok && r.status).toBe(202);
    }
    const forged = await webhookRequest('push', deliveries[5][1], { secret: 'not-the-secret' });
    const bad = await b.call('webhooks.receive', forged);
    expect(bad.ok ? 0 : bad.problem.status).toBe(401);
    // Signed, but carrying text no database can hold: refused (422 naming the payload), not stored and lost.
    const unstorable = await b.call('webhooks.receive', await webhookRequest('issues', { action: 'opened', issue: { title: 'a\u0000b' } }));
    expect(unstorable.ok ? 0 : unstorable.problem).toMatchObject({ status: 422, errors: [{ path: 'payload' }] });

    const insights = await waitUntil(async () => {
      const r = await b.call('insights.get', { params: { owner: 'acme', repo: 'insights' } });
      return r.ok && (r.body as { releases: number }).releases === 1 && (r.body as { open_issues: number }).open_issues === 1
        ? r.body
        : undefined;
    });
    expect(insights).toMatchObject({
      repository: 'acme/insights',
      commits: 2,
      pushes: 1,
      pull_requests: 3,
      merged_pull_requests: 2,
      open_pull_requests: 1,
      open_issues: 1,
      merges_per_week: 0.5,
      lead_time_hours: { median: 3, mean: 3 },
    });
    const merged = await b.bus.jsm.streams.getMessage(names.STREAM_NAME, { last_by_subj: `${names.SUBJECT_PREFIX}.agg.github_repo.555` });
    expect(merged).toBeTruthy();
    const info = await b.bus.jsm.streams.info(names.STREAM_NAME, {
      subjects_filter: `${names.SUBJECT_PREFIX}.agg.github_repo.555`,
    } as never);
    expect(Object.values(info.state.subjects ?? {})[0]).toBe(10);
  });

  it('caches the installation token until shortly before it expires, then renews it', async () => {
    const gh = createGithubClient({
      apiUrl: b.github.url,
      appId: 4242,
      privateKeyPem: b.keys.privateKeyPem,
      refreshMarginSec: 300,
      maxRateWaitMs: 0,
      logger: createLogger('test', 'silent'),
    });
    b.github.tokenTtlSec = 301;
    try {
      const before = b.github.tokensIssued.length;
      const deadline = Date.now() + 10_000;
      const first = await gh.installationToken(77, deadline);
      expect(await gh.installationToken(77, deadline)).toBe(first);
      expect(b.github.tokensIssued.length).toBe(before + 1);
      await new Promise((r) => setTimeout(r, 1200));
      const renewed = await gh.installationToken(77, deadline);
      expect(renewed).not.toBe(first);
      expect(b.github.tokensIssued.length).toBe(before + 2);
      // The App JWT was verified by the fake with the App's public key; a wrong key is refused.
      const stranger = createGithubClient({
        apiUrl: b.github.url,
        appId: 4242,
        privateKeyPem: appKeys().privateKeyPem,
        refreshMarginSec: 300,
        maxRateWaitMs: 0,
        logger: createLogger('test', 'silent'),
      });
      await expect(stranger.installationToken(77, deadline)).rejects.toThrow(/401/);
    } finally {
      b.github.tokenTtlSec = 3600;
    }
  });
});
