import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { BridgeDB } from '../../db/schema.ts';

export const INSIGHTS_PROJECTION = 'repository-insights';
export const INSTALLATIONS_PROJECTION = 'installations';

type D = Record<string, any>;

/** Repository insights: commits, pull requests (opened, merged, open), issues, releases, lead times. */
export function insightsProjection(prefix: string): Projection<BridgeDB> {
  const touch = async (
    trx: Transaction<BridgeDB>,
    d: D,
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
        const d = e.data as D;
        switch (e.type) {
          case 'github.pull_request.opened': {
            const ins = await trx
              .insertInto('repo_pulls')
              .values({
                repository_id: d.repository_id,
                number: d.number,
                opened_at: d.opened_at,
                merged_at: null,
                closed_at: null,
                state: 'open',
              })
              .onConflict((oc) => oc.columns(['repository_id', 'number']).doUpdateSet({ state: 'open', closed_at: null }))
              .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
              .executeTakeFirst();
            await touch(trx, d, d.opened_at, { pull_requests: ins?.inserted ? 1 : 0 });
            break;
          }
          case 'github.pull_request.merged': {
            const ins = await trx
              .insertInto('repo_pulls')
              .values({
                repository_id: d.repository_id,
                number: d.number,
                opened_at: d.opened_at,
                merged_at: d.merged_at,
                closed_at: d.merged_at,
                state: 'merged',
              })
              .onConflict((oc) =>
                oc.columns(['repository_id', 'number']).doUpdateSet({ state: 'merged', merged_at: d.merged_at, closed_at: d.merged_at }),
              )
              .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
              .executeTakeFirst();
            await touch(trx, d, d.merged_at, { merged_pull_requests: 1, pull_requests: ins?.inserted ? 1 : 0 });
            break;
          }
          case 'github.pull_request.closed':
            await trx
              .insertInto('repo_pulls')
              .values({
                repository_id: d.repository_id,
                number: d.number,
                opened_at: d.opened_at,
                merged_at: null,
                closed_at: d.closed_at,
                state: 'closed',
              })
              .onConflict((oc) => oc.columns(['repository_id', 'number']).doUpdateSet({ state: 'closed', closed_at: d.closed_at }))
              .execute();
            await touch(trx, d, d.closed_at, {});
            break;
          case 'github.push':
            await touch(trx, d, d.pushed_at, { commits: d.distinct_commits, pushes: 1 });
            break;
          case 'github.release.published':
            await touch(trx, d, d.published_at, { releases: 1 });
            break;
          case 'github.issue.opened':
          case 'github.issue.closed': {
            const open = e.type === 'github.issue.opened';
            await trx
              .insertInto('repo_issues')
              .values({ repository_id: d.repository_id, number: d.number, open })
              .onConflict((oc) => oc.columns(['repository_id', 'number']).doUpdateSet({ open }))
              .execute();
            await touch(trx, d, d.at, {});
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

export function installationsProjection(prefix: string): Projection<BridgeDB> {
  return {
    name: INSTALLATIONS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'github_installation'),
    async apply(trx, events) {
      for (const e of events) {
        const d = e.data as D;
        if (e.type === 'github.installation.created') {
          await trx
            .insertInto('installations')
            .values({
              installation_id: d.installation_id,
              account: d.account,
              repositories: JSON.stringify(d.repositories),
              active: true,
              updated_at: d.at,
            })
            .onConflict((oc) =>
              oc.column('installation_id').doUpdateSet({ active: true, repositories: JSON.stringify(d.repositories), updated_at: d.at }),
            )
            .execute();
        } else if (e.type === 'github.installation.deleted') {
          await trx
            .updateTable('installations')
            .set({ active: false, updated_at: d.at })
            .where('installation_id', '=', d.installation_id)
            .execute();
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('installations').execute();
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
