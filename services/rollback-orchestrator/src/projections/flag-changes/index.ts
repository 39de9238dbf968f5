import type { EventOf, FeatureFlagChanged, StoredEvent } from '@pep/contracts';
import { eventsOfTypes, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { OrchestratorDB } from '../../db/schema.ts';

export const FLAG_CHANGES_PROJECTION = 'flag-changes';

const isFlagChange = eventsOfTypes<EventOf<typeof FeatureFlagChanged>>(['featureflag.changed']);

/** Flag changes partners report (`featureflag.changed`): candidates within flags_changed_within_hours. */
export function flagChangesProjection(prefix: string): Projection<OrchestratorDB> {
  return {
    name: FLAG_CHANGES_PROJECTION,
    filterSubject: `${prefix}.ext.*.featureflag.changed`,
    async apply(trx: Transaction<OrchestratorDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (!isFlagChange(e) || !e.partnerid) continue;
        const d = e.data;
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

export function flagChangesSince(db: Kysely<OrchestratorDB>, partnerId: string, customerId: string, since: string) {
  return db
    .selectFrom('flag_changes')
    .select(['flag_key', 'changed_at'])
    .where('partner_id', '=', partnerId)
    .where('customer_id', '=', customerId)
    .where('changed_at', '>=', since)
    .execute();
}
