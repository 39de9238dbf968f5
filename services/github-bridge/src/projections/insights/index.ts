import {
  type EventOf,
  type GithubIssueClosed,
  type GithubIssueOpened,
  type GithubPullRequestClosed,
  type GithubPullRequestMerged,
  type GithubPullRequestOpened,
  type GithubPush,
  type GithubReleasePublished,
  type StoredEvent,
} from '@pep/contracts';
import { aggregateFilter, eventsOfTypes, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { BridgeDB } from '../../db/schema.ts';

export const INSIGHTS_PROJECTION = 'repository-insights';

/** The repository events this read model folds (a repository's subject also carries `github.revert.opened`). */
export type RepositoryEvent =
  | EventOf<typeof GithubPullRequestOpened>
  | EventOf<typeof GithubPullRequestMerged>
  | EventOf<typeof GithubPullRequestClosed>
  | EventOf<typeof GithubPush>
  | EventOf<typeof GithubReleasePublished>
  | EventOf<typeof GithubIssueOpened>
  | EventOf<typeof GithubIssueClosed>;
export const isRepositoryEvent = eventsOfTypes<RepositoryEvent>([
  'github.pull_request.opened',
  'github.pull_request.merged',
  'github.pull_request.closed',
  'github.push',
  'github.release.published',
  'github.issue.opened',
  'github.issue.closed',
]);

/** Repository insights: commits, pull requests (opened, merged, open), issues, releases, lead times. */
export function insightsProjection(prefix: string): Projection<BridgeDB> {
  const touch = async (
    trx: Transaction<BridgeDB>,
    d: { repository_id: number; repository: string },
    at: string,
    inc: Partial<Record<'commits' | 'pushes' | 'pull_requests' | 'merged_pull_requests' | 'releases', number>>,
  ) => {
    await trx
      .insertInto('repo_insights')
      .values({
        repository_id: d.repository_id,
        repository: d.repository,
        commits: inc.commits ?? 0,
        pushes: inc.pushes ?? 0,
        pull_requests: inc.pull_requests ?? 0,
        merged_pull_requests: inc.merged_pull_requests ?? 0,
        releases: inc.releases ?? 0,
        last_activity_at: at,
      })
      .onConflict((oc) =>
        oc.column('repository_id').doUpdateSet({
          repository: d.repository,
          commits: sql`repo_insights.commits + ${inc.commits ?? 0}`,
          pushes: sql`repo_insights.pushes + ${inc.pushes ?? 0}`,
          pull_requests: sql`repo_insights.pull_requests + ${inc.pull_requests ?? 0}`,
          merged_pull_requests: sql`repo_insights.merged_pull_requests + ${inc.merged_pull_requests ?? 0}`,
          releases: sql`repo_insights.releases + ${inc.releases ?? 0}`,
          last_activity_at: sql`greatest(repo_insights.last_activity_at, ${at})`,
        }),
      )
      .execute();
  };
  return {
    name: INSIGHTS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'github_repo'),
    async apply(trx, events: StoredEvent[]) {
      for (const e of events) {
        if (!isRepositoryEvent(e)) continue;
        switch (e.type) {
          case 'github.pull_request.opened': {
            const ins = await trx
              .insertInto('repo_pulls')
              .values({
                repository_id: e.data.repository_id,
                number: e.data.number,
                opened_at: e.data.opened_at,
                merged_at: null,
                closed_at: null,
                state: 'open',
              })
              .onConflict((oc) => oc.columns(['repository_id', 'number']).doUpdateSet({ state: 'open', closed_at: null }))
              .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
              .executeTakeFirst();
            await touch(trx, e.data, e.data.opened_at, { pull_requests: ins?.inserted ? 1 : 0 });
            break;
          }
          case 'github.pull_request.merged': {
            const ins = await trx
              .insertInto('repo_pulls')
              .values({
                repository_id: e.data.repository_id,
                number: e.data.number,
                opened_at: e.data.opened_at,
                merged_at: e.data.merged_at,
                closed_at: e.data.merged_at,
                state: 'merged',
              })
              .onConflict((oc) =>
                oc
                  .columns(['repository_id', 'number'])
                  .doUpdateSet({ state: 'merged', merged_at: e.data.merged_at, closed_at: e.data.merged_at }),
              )
              .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
              .executeTakeFirst();
            await touch(trx, e.data, e.data.merged_at, { merged_pull_requests: 1, pull_requests: ins?.inserted ? 1 : 0 });
            break;
          }
          case 'github.pull_request.closed':
            await trx
              .insertInto('repo_pulls')
              .values({
                repository_id: e.data.repository_id,
                number: e.data.number,
                opened_at: e.data.opened_at,
                merged_at: null,
                closed_at: e.data.closed_at,
                state: 'closed',
              })
              .onConflict((oc) => oc.columns(['repository_id', 'number']).doUpdateSet({ state: 'closed', closed_at: e.data.closed_at }))
              .execute();
            await touch(trx, e.data, e.data.closed_at, {});
            break;
          case 'github.push':
            await touch(trx, e.data, e.data.pushed_at, { commits: e.data.distinct_commits, pushes: 1 });
            break;
          case 'github.release.published':
            await touch(trx, e.data, e.data.published_at, { releases: 1 });
            break;
          case 'github.issue.opened':
          case 'github.issue.closed': {
            const open = e.type === 'github.issue.opened';
            await trx
              .insertInto('repo_issues')
              .values({ repository_id: e.data.repository_id, number: e.data.number, open })
              .onConflict((oc) => oc.columns(['repository_id', 'number']).doUpdateSet({ open }))
              .execute();
            await touch(trx, e.data, e.data.at, {});
            break;
          }
          default:
            break;
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('repo_insights').execute();
      await trx.deleteFrom('repo_pulls').execute();
      await trx.deleteFrom('repo_issues').execute();
    },
  };
}

const median = (xs: number[]) => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const round = (n: number | null) => (n === null ? null : Math.round(n * 100) / 100);

/** The insights of one repository as the API shows them (`now` decides the 28-day merge window). */
export async function repositoryInsights(db: Kysely<BridgeDB>, where: { repository: string } | { repositoryId: number }, now: Date) {
  let q = db.selectFrom('repo_insights').selectAll();
  q =
    'repository' in where
      ? q.where(sql`lower(repository)`, '=', where.repository.toLowerCase())
      : q.where('repository_id', '=', where.repositoryId);
  const r = await q.executeTakeFirst();
  if (!r) return undefined;
  const [pulls, issues] = await Promise.all([
    db.selectFrom('repo_pulls').select(['opened_at', 'merged_at', 'state']).where('repository_id', '=', r.repository_id).execute(),
    db
      .selectFrom('repo_issues')
      .select(sql<number>`count(*)::int`.as('n'))
      .where('repository_id', '=', r.repository_id)
      .where('open', '=', true)
      .executeTakeFirstOrThrow(),
  ]);
  const leadHours = pulls.filter((p) => p.merged_at).map((p) => (Date.parse(p.merged_at as string) - Date.parse(p.opened_at)) / 3_600_000);
  const since = now.getTime() - 28 * 86_400_000;
  const recentMerges = pulls.filter((p) => p.merged_at && Date.parse(p.merged_at) >= since).length;
  return {
    repository: r.repository,
    object: 'repository_insights' as const,
    repository_id: Number(r.repository_id),
    commits: r.commits,
    pushes: r.pushes,
    pull_requests: r.pull_requests,
    merged_pull_requests: r.merged_pull_requests,
    open_pull_requests: pulls.filter((p) => p.state === 'open').length,
    merges_per_week: round(recentMerges / 4) as number,
    open_issues: issues.n,
    lead_time_hours: {
      median: round(median(leadHours)),
      mean: round(leadHours.length ? leadHours.reduce((a, b) => a + b, 0) / leadHours.length : null),
    },
    releases: r.releases,
    last_activity_at: r.last_activity_at,
  };
}

/** A page of every repository's insights, ordered by repository name. */
export async function listRepositoryInsights(db: Kysely<BridgeDB>, q: { limit: number; starting_after?: string | undefined }, now: Date) {
  let query = db
    .selectFrom('repo_insights')
    .select(['repository_id', 'repository'])
    .orderBy('repository', 'asc')
    .limit(q.limit + 1);
  if (q.starting_after) query = query.where('repository', '>', q.starting_after);
  const rows = await query.execute();
  const data = await Promise.all(rows.slice(0, q.limit).map((r) => repositoryInsights(db, { repositoryId: Number(r.repository_id) }, now)));
  return { data, has_more: rows.length > q.limit };
}
