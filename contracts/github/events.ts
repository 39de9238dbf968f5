import { z } from 'zod';
import { safeJson, safeText } from '../common/text.ts';
import { defineEvent } from '../catalog/registry.ts';

/**
 * GitHub facts, translated by github-bridge from verified App webhooks. Repository events share the
 * repository's subject (`<prefix>.agg.github_repo.<repository_id>`), so they stay in order per repository.
 */
const repo = { origin: 'domain', aggregate: 'github_repo', category: 'github' } as const;
const repoBase = {
  repository_id: z.number().int(),
  repository: safeText().describe('owner/repo'),
  delivery_id: safeText().describe('X-GitHub-Delivery of the webhook this came from'),
};
const pullBase = {
  ...repoBase,
  number: z.number().int(),
  title: safeText(),
  author: safeText().nullable(),
  base: safeText().describe('Base branch'),
  head: safeText().describe('Head branch'),
  url: safeText(),
  opened_at: safeText(),
};

export const GithubWebhookReceived = defineEvent({
  type: 'github.webhook.received',
  version: 1,
  origin: 'domain',
  aggregate: 'github_delivery',
  category: 'github',
  description: 'A GitHub App webhook whose signature github-bridge verified, kept raw (one subject per delivery) until it is translated.',
  data: z.object({
    delivery_id: safeText(),
    event: safeText().describe('X-GitHub-Event'),
    action: safeText().nullable(),
    installation_id: z.number().int().nullable(),
    received_at: safeText(),
    payload: z.record(safeText(), safeJson()),
  }),
});

export const GithubPullRequestOpened = defineEvent({
  ...repo,
  type: 'github.pull_request.opened',
  version: 1,
  description: 'A pull request was opened.',
  data: z.object(pullBase),
});

export const GithubPullRequestClosed = defineEvent({
  ...repo,
  type: 'github.pull_request.closed',
  version: 1,
  description: 'A pull request was closed without being merged.',
  data: z.object({ ...pullBase, closed_at: safeText() }),
});

export const GithubPullRequestMerged = defineEvent({
  ...repo,
  type: 'github.pull_request.merged',
  version: 1,
  description: 'A pull request was merged into its base branch.',
  data: z.object({ ...pullBase, merged_at: safeText(), merge_commit_sha: safeText().nullable() }),
});

export const GithubPush = defineEvent({
  ...repo,
  type: 'github.push',
  version: 1,
  description: 'Commits were pushed to a branch or tag.',
  data: z.object({
    ...repoBase,
    ref: safeText(),
    before: safeText(),
    after: safeText(),
    commits: z.number().int(),
    distinct_commits: z.number().int(),
    pusher: safeText().nullable(),
    pushed_at: safeText(),
  }),
});

export const GithubReleasePublished = defineEvent({
  ...repo,
  type: 'github.release.published',
  version: 1,
  description: 'A release was published.',
  data: z.object({ ...repoBase, tag: safeText(), name: safeText().nullable(), published_at: safeText() }),
});

export const GithubIssueOpened = defineEvent({
  ...repo,
  type: 'github.issue.opened',
  version: 1,
  description: 'An issue was opened (or reopened).',
  data: z.object({ ...repoBase, number: z.number().int(), at: safeText() }),
});

export const GithubIssueClosed = defineEvent({
  ...repo,
  type: 'github.issue.closed',
  version: 1,
  description: 'An issue was closed.',
  data: z.object({ ...repoBase, number: z.number().int(), at: safeText() }),
});

export const GithubRevertOpened = defineEvent({
  ...repo,
  type: 'github.revert.opened',
  version: 1,
  description: 'github-bridge opened a revert pull request for an incident.',
  data: z.object({
    repository_id: z.number().int(),
    repository: safeText(),
    incident_id: safeText(),
    pull_number: z.number().int().describe('The pull request that was reverted'),
    revert_number: z.number().int(),
    branch: safeText(),
    url: safeText(),
    at: safeText(),
  }),
});

const installation = { origin: 'domain', aggregate: 'github_installation', category: 'github' } as const;

export const GithubInstallationCreated = defineEvent({
  ...installation,
  type: 'github.installation.created',
  version: 1,
  description: 'The GitHub App was installed on an account.',
  data: z.object({
    installation_id: z.number().int(),
    account: safeText(),
    repositories: z.array(safeText()),
    delivery_id: safeText(),
    at: safeText(),
  }),
});

export const GithubInstallationDeleted = defineEvent({
  ...installation,
  type: 'github.installation.deleted',
  version: 1,
  description: 'The GitHub App was uninstalled.',
  data: z.object({ installation_id: z.number().int(), account: safeText(), delivery_id: safeText(), at: safeText() }),
});

export const githubEvents = [
  GithubWebhookReceived,
  GithubPullRequestOpened,
  GithubPullRequestClosed,
  GithubPullRequestMerged,
  GithubPush,
  GithubReleasePublished,
  GithubIssueOpened,
  GithubIssueClosed,
  GithubRevertOpened,
  GithubInstallationCreated,
  GithubInstallationDeleted,
] as const;
