import type { PlanDefinition, PlanVersion, StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, sql } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';
import { PLANS_PROJECTION } from '../../domain/plan/plan.ts';

export { PLANS_PROJECTION };
export const PLANS_EVENT_TYPES = ['billing.plan_version_published'] as const;

/** Every published version of every plan (immutable rows). */
export function plansProjection(prefix: string): Projection<BillingDB> {
  return {
    name: PLANS_PROJECTION,
    filterSubject: aggregateFilter(prefix, 'billing_plan'),
    async apply(trx, events: StoredEvent[]) {
      for (const e of events) {
        if (e.type !== 'billing.plan_version_published') continue;
        const d = e.data as { version: number; plan: PlanDefinition };
        await trx
          .insertInto('plan_versions')
          .values({ code: d.plan.code, version: d.version, definition: JSON.stringify(d.plan), published_at: e.time, seq: e.seq })
          .onConflict((oc) => oc.columns(['code', 'version']).doNothing())
          .execute();
      }
    },
    async reset(trx) {
      await trx.deleteFrom('plan_versions').execute();
    },
  };
}

export interface PlanVersionRow {
  plan: PlanVersion;
  published_at: string;
}
const toRow = (r: { definition: unknown; version: number; published_at: string }): PlanVersionRow => ({
  plan: { ...(r.definition as PlanDefinition), version: r.version },
  published_at: r.published_at,
});

export async function planVersion(db: Kysely<BillingDB>, code: string, version?: number): Promise<PlanVersionRow | undefined> {
  let q = db.selectFrom('plan_versions').selectAll().where('code', '=', code);
  q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
  const r = await q.executeTakeFirst();
  return r ? toRow(r) : undefined;
}

export async function latestPlans(db: Kysely<BillingDB>): Promise<PlanVersionRow[]> {
  const rows = await db
    .selectFrom('plan_versions as p')
    .selectAll('p')
    .where('p.version', '=', (eb) =>
      eb.selectFrom('plan_versions as q').select(sql<number>`max(q.version)`.as('v')).whereRef('q.code', '=', 'p.code'),
    )
    .orderBy('p.code')
    .execute();
  return rows.map(toRow);
}
