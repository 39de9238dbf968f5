import type { EventOf, GithubInstallationCreated, GithubInstallationDeleted } from '@pep/contracts';
import { aggregateFilter, eventsOfTypes, type Projection } from '@pep/events';
import type { BridgeDB } from '../../db/schema.ts';

export const INSTALLATIONS_PROJECTION = 'installations';

export type InstallationEvent = EventOf<typeof GithubInstallationCreated> | EventOf<typeof GithubInstallationDeleted>;
export const isInstallationEvent = eventsOfTypes<InstallationEvent>(['github.installation.created', 'github.installation.deleted']);

/** GitHub App installations: the account, its repositories and whether the App is still installee.data. */
export function installationsProjection(prefix: string): Projection<BridgeDB> {
  return {
    name: INSTALLATIONS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'github_installation'),
    async apply(trx, events) {
      for (const e of events) {
        if (!isInstallationEvent(e)) continue;
        if (e.type === 'github.installation.created') {
          await trx
            .insertInto('installations')
            .values({
              installation_id: e.data.installation_id,
              account: e.data.account,
              repositories: JSON.stringify(e.data.repositories),
              active: true,
              updated_at: e.data.at,
            })
            .onConflict((oc) =>
              oc
                .column('installation_id')
                .doUpdateSet({ active: true, repositories: JSON.stringify(e.data.repositories), updated_at: e.data.at }),
            )
            .execute();
        } else if (e.type === 'github.installation.deleted') {
          await trx
            .updateTable('installations')
            .set({ active: false, updated_at: e.data.at })
            .where('installation_id', '=', e.data.installation_id)
            .execute();
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('installations').execute();
    },
  };
}
