import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely, Transaction } from 'kysely';
import type { OrchestratorDB } from '../../db/schema.ts';
import { isPolicyEvent, type StoredPolicy } from '../../domain/rollback-policy/rollback-policy.ts';

export const POLICIES_PROJECTION = 'rollback-policies';

/** The current policy of each customer (sealed secrets included: the planner and executors need them). */
export function policiesProjection(prefix: string): Projection<OrchestratorDB> {
  return {
    name: POLICIES_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'rollback_policy'),
    async apply(trx: Transaction<OrchestratorDB>, events: StoredEvent[]) {
      for (const e of events) {
        if (!isPolicyEvent(e)) continue;
        if (e.type === 'rollback.policy_created' || e.type === 'rollback.policy_updated') {
          const p = e.data;
          await trx
            .insertInto('policies')
            .values({
              policy_id: p.policy_id,
              partner_id: p.partner_id,
              customer_id: p.customer_id,
              data: JSON.stringify(p),
              version: e.seq,
              created_at: e.time,
              updated_at: e.time,
            })
            .onConflict((oc) => oc.column('policy_id').doUpdateSet({ data: JSON.stringify(p), version: e.seq, updated_at: e.time }))
            .execute();
        } else if (e.type === 'rollback.policy_deleted') {
          await trx.deleteFrom('policies').where('policy_id', '=', e.data.policy_id).execute();
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('policies').execute();
    },
  };
}

export interface PolicyRow {
  policy: StoredPolicy;
  version: number;
  created_at: string;
  updated_at: string;
}

const toRow = (r: { data: unknown; version: number; created_at: string; updated_at: string }): PolicyRow => ({
  policy: r.data as StoredPolicy,
  version: r.version,
  created_at: r.created_at,
  updated_at: r.updated_at,
});

export async function policyForCustomer(db: Kysely<OrchestratorDB>, partnerId: string, customerId: string): Promise<PolicyRow | undefined> {
  const r = await db
    .selectFrom('policies')
    .selectAll()
    .where('partner_id', '=', partnerId)
    .where('customer_id', '=', customerId)
    .executeTakeFirst();
  return r ? toRow(r) : undefined;
}

export async function policyById(db: Kysely<OrchestratorDB>, policyId: string): Promise<PolicyRow | undefined> {
  const r = await db.selectFrom('policies').selectAll().where('policy_id', '=', policyId).executeTakeFirst();
  return r ? toRow(r) : undefined;
}

export async function listPolicies(
  db: Kysely<OrchestratorDB>,
  f: { partnerId: string | undefined; customerId?: string; limit: number; startingAfter?: string },
): Promise<PolicyRow[]> {
  let q = db
    .selectFrom('policies')
    .selectAll()
    .orderBy('policy_id', 'asc')
    .limit(f.limit + 1);
  if (f.partnerId !== undefined) q = q.where('partner_id', '=', f.partnerId);
  if (f.customerId) q = q.where('customer_id', '=', f.customerId);
  if (f.startingAfter) q = q.where('policy_id', '>', f.startingAfter);
  return (await q.execute()).map(toRow);
}
