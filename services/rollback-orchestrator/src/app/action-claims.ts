import { type Kysely, sql } from 'kysely';
import type { OrchestratorDB } from '../db/schema.ts';
import type { Outcome, Phase } from '../domain/rollback-run/rollback-run.ts';

export type Claim = { kind: 'owned'; attempts: number } | { kind: 'done'; outcome: Outcome } | { kind: 'busy' };

/**
 * Exactly-once effects: before an action calls the outside world, its row (incident, action, phase) is
 * claimed in Postgres with a lease. A finished row is never executed again (its stored outcome is reused);
 * a row whose owner died (lease expired) is taken over, and the retried call carries the same
 * idempotency key, so the provider does not act twice either.
 */
export function createActionClaims(db: Kysely<OrchestratorDB>, owner: string) {
  return {
    async claim(key: string, actionId: string, phase: Phase, leaseMs: number): Promise<Claim> {
      const row = await db
        .insertInto('action_claims')
        .values({
          key,
          action_id: actionId,
          phase,
          status: 'in_progress',
          owner,
          lease_until: sql<Date>`now() + ${`${leaseMs} milliseconds`}::interval`,
          attempts: 1,
          outcome: null,
        })
        .onConflict((oc) =>
          oc
            .columns(['key', 'action_id', 'phase'])
            .doUpdateSet({
              owner,
              lease_until: sql<Date>`now() + ${`${leaseMs} milliseconds`}::interval`,
              attempts: sql<number>`action_claims.attempts + 1`,
              updated_at: sql<Date>`now()`,
            })
            .where('action_claims.status', '=', 'in_progress')
            .where('action_claims.lease_until', '<', sql<Date>`now()`),
        )
        .returning(['attempts'])
        .executeTakeFirst();
      if (row) return { kind: 'owned', attempts: row.attempts };
      const existing = await db
        .selectFrom('action_claims')
        .select(['status', 'outcome'])
        .where('key', '=', key)
        .where('action_id', '=', actionId)
        .where('phase', '=', phase)
        .executeTakeFirst();
      if (existing && existing.status !== 'in_progress' && existing.outcome) return { kind: 'done', outcome: existing.outcome as Outcome };
      return { kind: 'busy' };
    },
    async complete(key: string, actionId: string, phase: Phase, outcome: Outcome): Promise<void> {
      await db
        .updateTable('action_claims')
        .set({ status: outcome.ok ? 'succeeded' : 'failed', outcome: JSON.stringify(outcome), updated_at: sql<Date>`now()` })
        .where('key', '=', key)
        .where('action_id', '=', actionId)
        .where('phase', '=', phase)
        .where('owner', '=', owner)
        .execute();
    },
  };
}
export type ActionClaims = ReturnType<typeof createActionClaims>;

/**
 * Cooldown per customer: an incident that is going to act takes the customer's cooldown row atomically;
 * another incident within the window finds it taken and is only recorded. Re-planning the same incident
 * takes it again (idempotent).
 */
export async function takeCooldown(
  db: Kysely<OrchestratorDB>,
  partnerId: string,
  customerId: string,
  incidentId: string,
  minutes: number,
): Promise<{ taken: true } | { taken: false; incidentId: string; until: string }> {
  if (minutes <= 0) return { taken: true };
  const row = await db
    .insertInto('customer_cooldowns')
    .values({
      partner_id: partnerId,
      customer_id: customerId,
      incident_id: incidentId,
      until: sql<Date>`now() + ${`${minutes} minutes`}::interval`,
    })
    .onConflict((oc) =>
      oc
        .columns(['partner_id', 'customer_id'])
        .doUpdateSet({ incident_id: incidentId, until: sql<Date>`now() + ${`${minutes} minutes`}::interval` })
        .where((eb) =>
          eb.or([eb('customer_cooldowns.until', '<=', sql<Date>`now()`), eb('customer_cooldowns.incident_id', '=', incidentId)]),
        ),
    )
    .returning(['incident_id'])
    .executeTakeFirst();
  if (row) return { taken: true };
  const holder = await db
    .selectFrom('customer_cooldowns')
    .select(['incident_id', 'until'])
    .where('partner_id', '=', partnerId)
    .where('customer_id', '=', customerId)
    .executeTakeFirstOrThrow();
  return { taken: false, incidentId: holder.incident_id, until: new Date(holder.until).toISOString() };
}
