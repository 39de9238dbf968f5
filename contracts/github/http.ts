import { z } from 'zod';
import { safeText } from '../common/text.ts';
import { pageOf, PageQuerySchema } from '../http/pagination.ts';
import { defineRoutes } from '../http/routes.ts';

export const RepositoryInsightsSchema = z
  .object({
    repository: safeText(),
    object: z.literal('repository_insights'),
    repository_id: z.number().int(),
    commits: z.number().int().describe('Commits pushed (distinct)'),
    pushes: z.number().int(),
    pull_requests: z.number().int().describe('Pull requests opened'),
    merged_pull_requests: z.number().int(),
    open_pull_requests: z.number().int(),
    merges_per_week: z.number().describe('Merged pull requests per week over the last 28 days'),
    open_issues: z.number().int(),
    lead_time_hours: z
      .object({ median: z.number().nullable(), mean: z.number().nullable() })
      .describe('From opening to merge, over merged pull requests'),
    releases: z.number().int(),
    last_activity_at: safeText().nullable(),
  })
  .meta({ id: 'RepositoryInsights' });

export const GithubWebhookAcceptedSchema = z.object({ delivery_id: safeText(), duplicate: z.boolean() });

/** What the rollback orchestrator asks github-bridge over NATS (`<RPC_PREFIX>.github-bridge.reverts.open`). */
export const OpenRevertRequestSchema = z.object({
  incident_id: safeText().regex(/^[A-Za-z0-9_-]{1,64}$/),
  repository: safeText().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/),
  pull_number: z.number().int().positive(),
  context: z.object({
    customer_id: safeText(),
    journey: safeText(),
    severity: safeText(),
    detected_at: safeText(),
    error: safeText().optional(),
    screenshot_url: safeText().optional(),
    incident_url: safeText().optional(),
  }),
});
export type OpenRevertRequest = z.output<typeof OpenRevertRequestSchema>;

export const OpenRevertResultSchema = z.object({
  repository: safeText(),
  pull_number: z.number().int(),
  revert_number: z.number().int(),
  branch: safeText(),
  url: safeText(),
  commit_sha: safeText(),
  created: z.boolean().describe('False when the revert already existed (idempotent replay)'),
});
export type OpenRevertResult = z.output<typeof OpenRevertResultSchema>;

export const githubRoutes = defineRoutes([
  {
    operationId: 'receiveGithubWebhook',
    method: 'POST',
    path: '/v1/github/webhooks',
    summary: 'GitHub App webhook ingress (X-Hub-Signature-256 verified by github-bridge)',
    tag: 'GitHub',
    service: 'github-bridge',
    pattern: 'webhooks.receive',
    scope: 'github:webhook',
    public: true,
    raw: true,
    success: { status: 202, schema: GithubWebhookAcceptedSchema },
    errors: [400, 401],
    timeoutMs: 5000,
  },
  {
    operationId: 'listRepositoryInsights',
    method: 'GET',
    path: '/v1/github/repositories',
    summary: 'Insights of every repository the GitHub App has seen',
    tag: 'GitHub',
    service: 'github-bridge',
    pattern: 'insights.list',
    scope: 'admin',
    adminOnly: true,
    query: PageQuerySchema,
    success: { status: 200, schema: pageOf(RepositoryInsightsSchema) },
  },
  {
    operationId: 'getRepositoryInsights',
    method: 'GET',
    path: '/v1/github/repositories/:owner/:repo/insights',
    summary: 'Commits, pull requests, merge frequency, open issues and lead time of one repository',
    tag: 'GitHub',
    service: 'github-bridge',
    pattern: 'insights.get',
    scope: 'admin',
    adminOnly: true,
    params: z.object({
      owner: safeText().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, 'must be a GitHub user or organisation name'),
      repo: safeText().regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be a GitHub repository name'),
    }),
    success: { status: 200, schema: RepositoryInsightsSchema },
  },
]);
