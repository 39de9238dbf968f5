import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { OrchestratorDB } from '../../db/schema.ts';

export const MERGES_PROJECTION = 'github-merges';
export const FLAG_CHANGES_PROJECTION = 'flag-changes';

/** Pull requests merged per repository and base branch (from github-bridge's events): revert candidates. */
export function githubMergesProjection(prefix: string): Projection<OrchestratorDB> {
  return {
    name: MERGES_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'github_repo'),
    async apply(trx: Transaction<OrchestratorDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (e.type !== 'github.pull_request.merged') continue;
        const d = e.data as { repository: string; number: number; base: string; merged_at: string; title: string; url: string };
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

/** Flag changes partners report (`featureflag.changed`): candidates within flags_changed_within_hours. */
export function flagChangesProjection(prefix: string): Projection<OrchestratorDB> {
  return {
    name: FLAG_CHANGES_PROJECTION,
    filterSubject: `${prefix}.ext.*.featureflag.changed`,
    async apply(trx: Transaction<OrchestratorDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (e.type !== 'featureflag.changed' || !e.partnerid) continue;
        const d = e.data as { customer_id: string; flag_key: string; changed_at: string };
        await trx
          .insertInto('flag_changes')
          .values({ seq: e.seq, partner_id: e.partnerid, customer_id: d.customer_id, flag_key: d.flag_key, changed_at: d.changed_at })
          .onConflict((oc) => oc.column('seq').doNothing())
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('flag_changes').execute();
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

export function flagChangesSince(db: Kysely<OrchestratorDB>, partnerId: string, customerId: string, since: string) {
  return db
    .selectFrom('flag_changes')
    .select(['flag_key', 'changed_at'])
    .where('partner_id', '=', partnerId)
    .where('customer_id', '=', customerId)
    .where('changed_at', '>=', since)
    .execute();
}
