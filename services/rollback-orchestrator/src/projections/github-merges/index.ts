import type { EventOf, GithubPullRequestMerged, StoredEvent } from '@pep/contracts';
import { aggregateFilter, eventsOfTypes, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { OrchestratorDB } from '../../db/schema.ts';

export const MERGES_PROJECTION = 'github-merges';

const isMerge = eventsOfTypes<EventOf<typeof GithubPullRequestMerged>>(['github.pull_request.merged']);

/** Pull requests merged per repository and base branch (from github-bridge's events): revert candidates. */
export function githubMergesProjection(prefix: string): Projection<OrchestratorDB> {
  return {
    name: MERGES_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'github_repo'),
    async apply(trx: Transaction<OrchestratorDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (!isMerge(e)) continue;
        const d = e.data;
        await trx
          .insertInto('github_merges')
          .values({
            repository: d.repository.toLowerCase(),
            number: d.number,
            base: d.base,
            merged_at: d.merged_at,
            title: d.title,
            url: d.url,
          })
          .onConflict((oc) => oc.columns(['repository', 'number']).doNothing())
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('github_merges').execute();
    },
  };
}

export function mergesSince(db: Kysely<OrchestratorDB>, repositories: string[], since: string) {
  if (repositories.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('github_merges')
    .select(['repository', 'number', 'base', 'merged_at'])
    .where(
      'repository',
      'in',
      repositories.map((r) => r.toLowerCase()),
    )
    .where('merged_at', '>=', since)
    .orderBy('merged_at', 'desc')
    .limit(200)
    .execute();
}
