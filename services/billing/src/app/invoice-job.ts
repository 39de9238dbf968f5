import type { Meter, PlanVersion } from '@pep/contracts';
import type { CommandBus, ProjectionRunner } from '@pep/events';
import { type Logger, ValidationError } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../db/schema.ts';
import { draftInvoice, planKey, planRefsOf } from '../domain/invoice/draft.ts';
import {
  decideCreateInvoice,
  decideFinalizeInvoice,
  invoiceAggregate,
  invoiceIdOf,
  numberingAggregate,
} from '../domain/invoice/invoice.ts';
import { addMonths, type IsoDate, type Period, parseDate } from '../domain/pricing/period.ts';
import { planVersion } from '../projections/plans/index.ts';
import { listSubscriptions, SUBSCRIPTIONS_PROJECTION } from '../projections/subscriptions/index.ts';
import { findMeter, USAGE_PROJECTION, usageSeries } from '../projections/usage/index.ts';

export interface InvoiceJobDeps {
  db: Kysely<BillingDB>;
  commands: CommandBus;
  projections: Map<string, ProjectionRunner>;
  logger: Logger;
  settings: { INVOICE_DUE_DAYS: number; INVOICE_ISSUER: string; INVOICE_NUMBER_PREFIX: string };
}

export const monthOf = (period: string): Period => ({ start: `${period}-01`, end: addMonths(`${period}-01`, 1) });

/**
 * Closes a month: for every subscription that had begun by the month's end, creates the partner's invoice for the
 * month (its id is deterministic and the append expects a new subject, so a second run, a second replica or a
 * restart after a crash creates nothing more) and finalizes it with the issuer's next number. Usage is read after
 * the usage projection has applied everything in the stream when the run starts.
 */
export async function runInvoices(deps: InvoiceJobDeps, period: string, today: IsoDate) {
  const month = monthOf(period);
  if (parseDate(month.end) > parseDate(today)) throw new ValidationError([{ path: 'period', message: `${period} has not ended` }]);
  await deps.projections.get(USAGE_PROJECTION)?.waitFor(undefined, 30_000);
  await deps.projections.get(SUBSCRIPTIONS_PROJECTION)?.waitFor(undefined, 30_000);
  const counts = { period, created: 0, finalized: 0, skipped: 0 };
  for (const sub of await listSubscriptions(deps.db, undefined)) {
    const state = sub.state;
    if (!state.id || !state.partner_id || parseDate(state.started_on) >= parseDate(month.end)) {
      counts.skipped++;
      continue;
    }
    const partnerId = state.partner_id;
    const plans = new Map<string, PlanVersion>();
    for (const ref of planRefsOf(state)) {
      const row = await planVersion(deps.db, ref.plan_code, ref.plan_version);
      if (row) plans.set(planKey(ref.plan_code, ref.plan_version), row.plan);
    }
    const usage: Record<string, number> = {};
    for (const p of plans.values()) {
      if (p.model !== 'usage_based' && p.model !== 'hybrid') continue;
      for (const c of p.charges) usage[c.meter] ??= await monthlyUsage(deps.db, partnerId, c.meter, month);
    }
    const draft = draftInvoice({ state, plans, month, usage });
    const invoiceId = invoiceIdOf(partnerId, month);
    const created = await deps.commands.execute(
      invoiceAggregate,
      invoiceId,
      { partnerId },
      (s) => decideCreateInvoice({ invoiceId, partnerId, subscriptionId: state.id as string, month, draft }, s),
      { assumeNew: true },
    );
    if (created.events.length) counts.created++;
    const finalized = await deps.commands.execute(numberingAggregate, deps.settings.INVOICE_ISSUER, { partnerId }, (s) =>
      decideFinalizeInvoice(
        {
          invoiceId,
          partnerId,
          issuer: deps.settings.INVOICE_ISSUER,
          prefix: deps.settings.INVOICE_NUMBER_PREFIX,
          today,
          dueDays: deps.settings.INVOICE_DUE_DAYS,
          total: draft.total,
          currency: draft.currency,
        },
        s,
      ),
    );
    if (finalized.events.length) counts.finalized++;
  }
  deps.logger.info('invoice run finished', counts);
  return counts;
}

async function monthlyUsage(db: Kysely<BillingDB>, partnerId: string, meterCode: string, month: Period): Promise<number> {
  const found = await findMeter(db, meterCode);
  if (!found) return 0;
  const series = await usageSeries(db, {
    partnerId,
    meter: found.meter as Meter,
    from: new Date(`${month.start}T00:00:00Z`),
    to: new Date(`${month.end}T00:00:00Z`),
    window: 'month',
    limit: 1000,
  });
  return series.reduce((s, b) => s + b.value, 0);
}
