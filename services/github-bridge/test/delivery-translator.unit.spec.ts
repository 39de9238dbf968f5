import { describe, expect, it } from 'vitest';
import { MalformedDeliveryError, translateDelivery } from '../src/domain/webhook/translate.ts';

/** Given a GitHub delivery (event name + payload as GitHub sends it), when translated, then these events. */
const RECEIVED_AT = '2026-11-30T10:00:00.000Z';
const delivery = (event: string, payload: Record<string, unknown>) => ({ delivery_id: 'dlv-1', event, payload, received_at: RECEIVED_AT });
const repository = { id: 1296269, full_name: 'octo-org/shop' };
const repoBase = { repository_id: 1296269, repository: 'octo-org/shop', delivery_id: 'dlv-1' };
const pullRequest = {
  number: 42,
  title: 'New checkout',
  user: { login: 'mona' },
  base: { ref: 'main' },
  head: { ref: 'feature/checkout' },
  html_url: 'https://github.com/octo-org/shop/pull/42',
  created_at: '2026-11-29T08:00:00Z',
  merged: false,
  merged_at: null,
  merge_commit_sha: null,
  closed_at: null,
};
const pull = {
  number: 42,
  title: 'New checkout',
  author: 'mona',
  base: 'main',
  head: 'feature/checkout',
  url: 'https://github.com/octo-org/shop/pull/42',
  opened_at: '2026-11-29T08:00:00Z',
};

describe('GitHub delivery translator', () => {
  it.each(['opened', 'reopened'])('a pull request %s becomes github.pull_request.opened on the repository', (action) => {
    expect(translateDelivery(delivery('pull_request', { action, repository, pull_request: pullRequest }))).toEqual([
      { aggregate: 'github_repo', id: '1296269', type: 'github.pull_request.opened', data: { ...repoBase, ...pull } },
    ]);
  });

  it('a pull request closed merged becomes github.pull_request.merged with the merge commit', () => {
    const pr = {
      ...pullRequest,
      merged: true,
      merged_at: '2026-11-30T09:00:00Z',
      merge_commit_sha: 'abc123',
      closed_at: '2026-11-30T09:00:00Z',
    };
    expect(translateDelivery(delivery('pull_request', { action: 'closed', repository, pull_request: pr }))).toEqual([
      {
        aggregate: 'github_repo',
        id: '1296269',
        type: 'github.pull_request.merged',
        data: { ...repoBase, ...pull, merged_at: '2026-11-30T09:00:00Z', merge_commit_sha: 'abc123' },
      },
    ]);
  });

  it('a pull request closed unmerged becomes github.pull_request.closed; missing times fall back to the delivery time', () => {
    const { created_at: _c, ...pr } = pullRequest;
    const [t] = translateDelivery(delivery('pull_request', { action: 'closed', repository, pull_request: pr }));
    expect(t?.type).toBe('github.pull_request.closed');
    expect(t?.data).toMatchObject({ opened_at: RECEIVED_AT, closed_at: RECEIVED_AT });
  });

  it('a pull request event of another action, or without a repository, translates to nothing', () => {
    expect(translateDelivery(delivery('pull_request', { action: 'labeled', repository, pull_request: pullRequest }))).toEqual([]);
    expect(translateDelivery(delivery('pull_request', { action: 'opened', pull_request: pullRequest }))).toEqual([]);
  });

  it('a pull request event without its pull request is malformed (the worker dead-letters it)', () => {
    expect(() => translateDelivery(delivery('pull_request', { action: 'opened', repository }))).toThrow(MalformedDeliveryError);
  });

  it('a push counts its distinct commits and names the pusher', () => {
    const payload = {
      ref: 'refs/heads/main',
      before: 'a1',
      after: 'b2',
      repository,
      commits: [{ distinct: true }, { distinct: false }, {}],
      pusher: { name: 'mona' },
      head_commit: { timestamp: '2026-11-30T09:30:00Z' },
    };
    expect(translateDelivery(delivery('push', payload))).toEqual([
      {
        aggregate: 'github_repo',
        id: '1296269',
        type: 'github.push',
        data: {
          ...repoBase,
          ref: 'refs/heads/main',
          before: 'a1',
          after: 'b2',
          commits: 3,
          distinct_commits: 2,
          pusher: 'mona',
          pushed_at: '2026-11-30T09:30:00Z',
        },
      },
    ]);
  });

  it('only a published release is translated', () => {
    const release = { tag_name: 'v1.2.0', name: null, published_at: '2026-11-30T09:45:00Z' };
    expect(translateDelivery(delivery('release', { action: 'published', repository, release }))).toEqual([
      {
        aggregate: 'github_repo',
        id: '1296269',
        type: 'github.release.published',
        data: { ...repoBase, tag: 'v1.2.0', name: null, published_at: '2026-11-30T09:45:00Z' },
      },
    ]);
    expect(translateDelivery(delivery('release', { action: 'created', repository, release }))).toEqual([]);
  });

  it('issues opened, reopened and closed are translated; other actions are not', () => {
    const issue = { number: 7, created_at: '2026-11-28T00:00:00Z', closed_at: '2026-11-30T00:00:00Z' };
    const types = (action: string) => translateDelivery(delivery('issues', { action, repository, issue })).map((t) => [t.type, t.data.at]);
    expect(types('opened')).toEqual([['github.issue.opened', '2026-11-28T00:00:00Z']]);
    expect(types('reopened')).toEqual([['github.issue.opened', '2026-11-28T00:00:00Z']]);
    expect(types('closed')).toEqual([['github.issue.closed', '2026-11-30T00:00:00Z']]);
    expect(types('edited')).toEqual([]);
  });

  it('an installation created lists its repositories on the installation subject; deleted is translated too', () => {
    const installation = { id: 99, account: { login: 'octo-org' } };
    const base = { installation_id: 99, account: 'octo-org', delivery_id: 'dlv-1', at: RECEIVED_AT };
    expect(
      translateDelivery(delivery('installation', { action: 'created', installation, repositories: [{ full_name: 'octo-org/shop' }] })),
    ).toEqual([
      {
        aggregate: 'github_installation',
        id: '99',
        type: 'github.installation.created',
        data: { ...base, repositories: ['octo-org/shop'] },
      },
    ]);
    expect(translateDelivery(delivery('installation', { action: 'deleted', installation }))).toEqual([
      { aggregate: 'github_installation', id: '99', type: 'github.installation.deleted', data: base },
    ]);
    expect(translateDelivery(delivery('installation', { action: 'suspend', installation }))).toEqual([]);
  });

  it('an event the platform does not follow translates to nothing', () => {
    expect(translateDelivery(delivery('star', { action: 'created', repository }))).toEqual([]);
  });
});
