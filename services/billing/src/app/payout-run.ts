import type { CommandBus, ProjectionRunner } from '@pep/events';
import { type Logger, ValidationError } from '@pep/runtime';
import { type Kysely, sql } from 'kysely';
import type Stripe from 'stripe';
import type { BillingDB } from '../db/schema.ts';
import {
  decideCreatePayout,
  decidePayout,
  PAYOUTS_PROJECTION,
  payoutAggregate,
  payoutIdOf,
  transferKeyOf,
} from '../domain/payout/payout.ts';
import { computeStatement, type SourcePayment, type SourceRefund } from '../domain/payout/statement.ts';
import { type IsoDate, parseDate } from '../domain/pricing/period.ts';
import { ATTRIBUTION_PROJECTION } from '../projections/revenue/index.ts';
import { monthOf } from './invoice-job.ts';
import { stripeRefusal } from './stripe-client.ts';
import { contractStart } from './stripe-sync.ts';

export interface PayoutDeps {
  db: Kysely<BillingDB>;
  commands: CommandBus;
  projections: Map<string, ProjectionRunner>;
  logger: Logger;
  stripe: Stripe;
  settings: { PAYOUT_MINIMUM: number; PAYOUT_CURRENCY: string };
}

/** The partner's Stripe Connect account (created once, idempotency key from the partner id, and kept). */
export async function partnerConnectAccount(db: Kysely<BillingDB>, stripe: Stripe, partnerId: string): Promise<string> {
  const row = await db
    .selectFrom('stripe_partner_accounts')
    .select('connect_account_id')
    .where('partner_id', '=', partnerId)
    .executeTakeFirst();
  if (row?.connect_account_id) return row.connect_account_id;
  const a = await stripe.accounts.create(
    { type: 'express', metadata: { platform_partner_id: partnerId } },
    { idempotencyKey: `account:${partnerId}` },
  );
  await db
    .insertInto('stripe_partner_accounts')
    .values({ partner_id: partnerId, customer_id: null, connect_account_id: a.id })
    .onConflict((oc) => oc.column('partner_id').doUpdateSet({ connect_account_id: a.id }))
    .execute();
  return a.id;
}

/** Partners with attributed payments or refunds not yet in a statement, or with a balance carried over. */
async function candidates(db: Kysely<BillingDB>, currency: string, end: Date): Promise<string[]> {
  const r = await sql<{ partner_id: string }>`
    select partner_id from stripe_charges c
      where partner_id is not null and currency = ${currency} and created_at < ${end}
        and not exists (select 1 from payout_lines l where l.source_id = c.id)
    union
    select c.partner_id from stripe_refunds r join stripe_charges c on c.id = r.charge_id
      where c.partner_id is not null and c.currency = ${currency} and r.created_at < ${end}
        and not exists (select 1 from payout_lines l where l.source_id = r.id)
    union
    select partner_id from payouts p where carried_out <> 0
    order by 1`.execute(db);
  return r.rows.map((x) => x.partner_id);
}

async function statementInputs(deps: PayoutDeps, partnerId: string, end: Date) {
  const cur = deps.settings.PAYOUT_CURRENCY;
  const charges = await sql<{ id: string; customer_key: string; amount: string; created_at: Date }>`
    select id, customer_key, amount, created_at from stripe_charges c
      where partner_id = ${partnerId} and status = 'succeeded' and currency = ${cur} and created_at < ${end}
        and not exists (select 1 from payout_lines l where l.source_id = c.id)`.execute(deps.db);
  const refunds = await sql<{ id: string; charge_id: string; customer_key: string; amount: string; created_at: Date; charged_at: Date }>`
    select r.id, r.charge_id, c.customer_key, r.amount, r.created_at, c.created_at as charged_at
      from stripe_refunds r join stripe_charges c on c.id = r.charge_id
      where c.partner_id = ${partnerId} and c.currency = ${cur} and r.created_at < ${end}
        and not exists (select 1 from payout_lines l where l.source_id = r.id)`.execute(deps.db);
  const starts = new Map<string, string>();
  const startOf = async (key: string, fallback: Date) => {
    let s = starts.get(key);
    if (!s) {
      s = ((await contractStart(deps.db, partnerId, key)) ?? fallback).toISOString();
      starts.set(key, s);
    }
    return s;
  };
  const payments: SourcePayment[] = [];
  for (const c of charges.rows)
    payments.push({
      charge_id: c.id,
      customer_id: c.customer_key,
      amount: Number(c.amount),
      occurred_at: new Date(c.created_at).toISOString(),
      contract_start: await startOf(c.customer_key, new Date(c.created_at)),
    });
  const reversals: SourceRefund[] = [];
  for (const r of refunds.rows)
    reversals.push({
      refund_id: r.id,
      charge_id: r.charge_id,
      customer_id: r.customer_key,
      amount: Number(r.amount),
      occurred_at: new Date(r.created_at).toISOString(),
      charged_at: new Date(r.charged_at).toISOString(),
      contract_start: await startOf(r.customer_key, new Date(r.charged_at)),
    });
  const terms = await deps.db.selectFrom('revenue_share_terms').selectAll().where('partner_id', '=', partnerId).execute();
  return {
    payments,
    refunds: reversals,
    terms: terms.map((t) => ({
      effective_at: new Date(t.effective_at).toISOString(),
      first_year_pct: Number(t.first_year_pct),
      renewal_pct: Number(t.renewal_pct),
    })),
  };
}

/** Transfers one payout through Stripe Connect; the idempotency key is the payout id, so a retry never pays twice. */
export async function payPayout(deps: PayoutDeps, payoutId: string): Promise<'paid' | 'failed' | 'unsettled'> {
  const row = await deps.db.selectFrom('payouts').select(['partner_id']).where('id', '=', payoutId).executeTakeFirstOrThrow();
  const meta = { partnerId: row.partner_id };
  const destination = await partnerConnectAccount(deps.db, deps.stripe, row.partner_id);
  const started = await deps.commands.execute(payoutAggregate, payoutId, meta, (s) =>
    decidePayout(payoutId, { type: 'StartTransfer', destination }, s),
  );
  const s = started.state;
  let transfer: Stripe.Transfer;
  try {
    transfer = await deps.stripe.transfers.create(
      {
        amount: s.payable,
        currency: s.currency as string,
        destination,
        transfer_group: payoutId,
        description: `Revenue share ${payoutId}`,
        metadata: { payout_id: payoutId, partner_id: row.partner_id },
      },
      { idempotencyKey: transferKeyOf(payoutId, s.failures) },
    );
  } catch (err) {
    const refused = stripeRefusal(err);
    if (!refused) {
      // No answer: the transfer may or may not exist. The payout stays processing; the next run sends the same key.
      deps.logger.warn('payout transfer got no answer; it is retried with the same idempotency key', { payout_id: payoutId, err });
      return 'unsettled';
    }
    await deps.commands.execute(payoutAggregate, payoutId, meta, (st) =>
      decidePayout(payoutId, { type: 'RecordFailed', reason: refused.message, code: refused.code }, st),
    );
    return 'failed';
  }
  await deps.commands.execute(payoutAggregate, payoutId, meta, (st) =>
    decidePayout(payoutId, { type: 'RecordPaid', transferId: transfer.id, destination }, st),
  );
  return 'paid';
}

/**
 * Closes a month of revenue share: for every partner with attributed payments (or refunds) not yet in a statement
 * before the month's end, or a carried balance, creates the month's statement once (deterministic id, the append
 * expects a new subject), then pays every payout that is pending, processing or failed.
 */
export async function runPayouts(deps: PayoutDeps, period: string, today: IsoDate) {
  const month = monthOf(period);
  if (parseDate(month.end) > parseDate(today)) throw new ValidationError([{ path: 'period', message: `${period} has not ended` }]);
  await deps.projections.get(ATTRIBUTION_PROJECTION)?.waitFor(undefined, 30_000);
  await deps.projections.get(PAYOUTS_PROJECTION)?.waitFor(undefined, 30_000);
  const end = new Date(`${month.end}T00:00:00Z`);
  const counts = { period, created: 0, paid: 0, failed: 0, carried_over: 0 };
  for (const partnerId of await candidates(deps.db, deps.settings.PAYOUT_CURRENCY, end)) {
    const payoutId = payoutIdOf(partnerId, month);
    const later = await deps.db
      .selectFrom('payouts')
      .select('id')
      .where('partner_id', '=', partnerId)
      .where('period_start', '>=', month.start)
      .executeTakeFirst();
    if (later) continue; // this month (or a later one) has its statement: nothing is shared twice
    const prior = await deps.db
      .selectFrom('payouts')
      .select('carried_out')
      .where('partner_id', '=', partnerId)
      .orderBy('period_start', 'desc')
      .executeTakeFirst();
    const inputs = await statementInputs(deps, partnerId, end);
    const carriedIn = Number(prior?.carried_out ?? 0);
    if (!inputs.payments.length && !inputs.refunds.length && carriedIn === 0) continue;
    const statement = computeStatement({ ...inputs, carriedIn, minimum: deps.settings.PAYOUT_MINIMUM });
    const created = await deps.commands.execute(
      payoutAggregate,
      payoutId,
      { partnerId },
      (s) => decideCreatePayout({ payoutId, partnerId, month, currency: deps.settings.PAYOUT_CURRENCY, statement }, s),
      { assumeNew: true },
    );
    if (created.events.length) {
      counts.created++;
      if (statement.payable === 0) counts.carried_over++;
    }
  }
  const due = await deps.db
    .selectFrom('payouts')
    .select('id')
    .where('status', 'in', ['pending', 'processing', 'failed'])
    .orderBy('id')
    .execute();
  for (const p of due) {
    const outcome = await payPayout(deps, p.id);
    if (outcome === 'paid') counts.paid++;
    else counts.failed++;
  }
  deps.logger.info('payout run finished', counts);
  return counts;
}
