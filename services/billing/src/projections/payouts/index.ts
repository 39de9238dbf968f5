import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';
import { PAYOUTS_PROJECTION, payoutAggregate } from '../../domain/payout/payout.ts';
import type { Statement, StatementLine } from '../../domain/payout/statement.ts';

export { PAYOUTS_PROJECTION };

interface Created extends Statement {
  payout_id: string;
  partner_id: string;
  period: { start: string; end: string };
  currency: string;
}

/** Payouts and their statements (billing_payout subjects); every source line is kept once in payout_lines. */
export function payoutsProjection(prefix: string): Projection<BillingDB> {
  return {
    name: PAYOUTS_PROJECTION,
    filterSubject: aggregateFilter(prefix, payoutAggregate.kind),
    tables: ['payouts', 'payout_lines'],
    async apply(trx, events: StoredEvent[]) {
      for (const e of events) {
        const d = e.data as { payout_id: string; transfer_id?: string; destination?: string; reason?: string };
        if (e.type === 'payout.created') {
          const c = e.data as Created;
          await trx
            .insertInto('payouts')
            .values({
              id: c.payout_id,
              partner_id: c.partner_id,
              period_start: c.period.start,
              period_end: c.period.end,
              currency: c.currency,
              status: c.payable > 0 ? 'pending' : 'carried_over',
              lines: JSON.stringify(c.lines),
              subtotal: c.subtotal,
              carried_in: c.carried_in,
              total: c.total,
              minimum: c.minimum,
              payable: c.payable,
              carried_out: c.carried_out,
              destination: null,
              transfer_id: null,
              failure_reason: null,
              failures: 0,
              created_at: e.time,
              seq: e.seq,
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .execute();
          const lines = c.lines.map((l: StatementLine) => ({ source_id: l.source_id, payout_id: c.payout_id }));
          if (lines.length)
            await trx
              .insertInto('payout_lines')
              .values(lines)
              .onConflict((oc) => oc.column('source_id').doNothing())
              .execute();
        } else if (e.type === 'payout.processing') {
          await trx
            .updateTable('payouts')
            .set({ status: 'processing', destination: d.destination ?? null, seq: e.seq })
            .where('id', '=', d.payout_id)
            .execute();
        } else if (e.type === 'payout.paid') {
          await trx
            .updateTable('payouts')
            .set({ status: 'paid', transfer_id: d.transfer_id ?? null, failure_reason: null, seq: e.seq })
            .where('id', '=', d.payout_id)
            .execute();
        } else if (e.type === 'payout.failed') {
          await trx
            .updateTable('payouts')
            .set((eb) => ({ status: 'failed', failure_reason: d.reason ?? null, failures: eb('failures', '+', 1), seq: e.seq }))
            .where('id', '=', d.payout_id)
            .execute();
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('payout_lines').execute();
      await trx.deleteFrom('payouts').execute();
    },
  };
}

type Row = BillingDB['payouts'];
export function payoutView(r: Row) {
  return {
    object: 'payout' as const,
    id: r.id,
    partner_id: r.partner_id,
    status: r.status,
    period: { start: r.period_start, end: r.period_end },
    currency: r.currency,
    subtotal: Number(r.subtotal),
    carried_in: Number(r.carried_in),
    payable: Number(r.payable),
    carried_out: Number(r.carried_out),
    transfer_id: r.transfer_id,
    failure_reason: r.failure_reason,
    created_at: r.created_at,
  };
}
export function statementView(r: Row) {
  return {
    ...payoutView(r),
    object: 'payout_statement' as const,
    minimum: Number(r.minimum),
    total: Number(r.total),
    lines: r.lines as StatementLine[],
  };
}

export async function payoutById(db: Kysely<BillingDB>, id: string) {
  return db.selectFrom('payouts').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listPayouts(
  db: Kysely<BillingDB>,
  f: { partnerId: string | undefined; limit: number; startingAfter?: { period_start: string; id: string } },
) {
  let q = db
    .selectFrom('payouts')
    .selectAll()
    .orderBy('period_start', 'desc')
    .orderBy('id', 'desc')
    .limit(f.limit + 1);
  if (f.partnerId !== undefined) q = q.where('partner_id', '=', f.partnerId);
  const after = f.startingAfter;
  if (after)
    q = q.where((eb) =>
      eb.or([eb('period_start', '<', after.period_start), eb.and([eb('period_start', '=', after.period_start), eb('id', '<', after.id)])]),
    );
  return q.execute();
}
