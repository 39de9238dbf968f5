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
import type { LineItem } from '../domain/pricing/quote.ts';
import { startOfDayIn } from '../domain/pricing/timezone.ts';
import type { SubscriptionState } from '../domain/subscription/subscription.ts';
import { BILLING_CONTACTS_PROJECTION, timezoneOf } from '../projections/contacts/index.ts';
import { invoiceById } from '../projections/invoices/index.ts';
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
 *
 * The month is cut in the partner's billing time zone (`billing_contacts.timezone`, default UTC): its usage is what
 * fell between local midnight of the 1st and local midnight of the next 1st (rounded down to the hour, as usage is
 * kept per UTC hour), and a partner whose month has not ended in its zone yet is left for a later run. Usage of the
 * month before that arrived after that month's invoice is charged on this one as `late_usage` lines dated to that
 * month; the finalized invoice is never edited.
 */
export async function runInvoices(deps: InvoiceJobDeps, period: string, today: IsoDate, opts: { partnerId?: string; now?: Date } = {}) {
  const month = monthOf(period);
  const closingNow = opts.partnerId !== undefined;
  const now = opts.now ?? new Date(Math.max(Date.now(), parseDate(today)));
  // The earliest zone (UTC+14) ends a month 14 hours before UTC does; each partner's own zone is checked below.
  if (!closingNow && parseDate(month.end) > now.getTime() + 14 * 3_600_000)
    throw new ValidationError([{ path: 'period', message: `${period} has not ended` }]);
  await deps.projections.get(USAGE_PROJECTION)?.waitFor(undefined, 30_000);
  await deps.projections.get(SUBSCRIPTIONS_PROJECTION)?.waitFor(undefined, 30_000);
  await deps.projections.get(BILLING_CONTACTS_PROJECTION)?.waitFor(undefined, 30_000);
  const counts = { period, created: 0, finalized: 0, skipped: 0 };
  for (const sub of await listSubscriptions(deps.db, opts.partnerId)) {
    const state = sub.state;
    if (!state.id || !state.partner_id || parseDate(state.started_on) >= parseDate(month.end)) {
      counts.skipped++;
      continue;
    }
    const partnerId = state.partner_id;
    const timezone = await timezoneOf(deps.db, partnerId);
    const window = { from: startOfDayIn(month.start, timezone), to: startOfDayIn(month.end, timezone) };
    if (closingNow) {
      if (now < window.to) window.to = now;
    } else if (window.to > now) {
      counts.skipped++;
      continue;
    }
    const plans = new Map<string, PlanVersion>();
    for (const ref of planRefsOf(state)) {
      const row = await planVersion(deps.db, ref.plan_code, ref.plan_version);
      if (row) plans.set(planKey(ref.plan_code, ref.plan_version), row.plan);
    }
    const meters = new Set<string>();
    for (const p of plans.values()) if (p.model === 'usage_based' || p.model === 'hybrid') for (const c of p.charges) meters.add(c.meter);
    const usage: Record<string, number> = {};
    for (const m of meters) usage[m] = await monthlyUsage(deps.db, partnerId, m, window);
    const draft = draftInvoice({ state, plans, month, usage });
    const late = await lateUsageLines(deps, { state, plans, partnerId, period, meters });
    const lines = [...draft.lines, ...late];
    const total = lines.reduce((t, l) => t + l.amount, 0);
    const invoiceId = invoiceIdOf(partnerId, month);
    const created = await deps.commands.execute(
      invoiceAggregate,
      invoiceId,
      { partnerId },
      (s) =>
        decideCreateInvoice(
          { invoiceId, partnerId, subscriptionId: state.id as string, month, draft: { ...draft, lines, total }, usage, timezone },
          s,
        ),
      { assumeNew: true },
    );
    if (created.events.length) counts.created++;
    const invoiceTotal = created.state.total ?? total;
    const finalized = await deps.commands.execute(numberingAggregate, deps.settings.INVOICE_ISSUER, { partnerId }, (s) =>
      decideFinalizeInvoice(
        {
          invoiceId,
          partnerId,
          issuer: deps.settings.INVOICE_ISSUER,
          prefix: deps.settings.INVOICE_NUMBER_PREFIX,
          today,
          dueDays: deps.settings.INVOICE_DUE_DAYS,
          total: invoiceTotal,
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

/**
 * Usage of the previous month that arrived after its invoice: the usage of that month now minus what its invoice
 * charged, priced as the difference of the month's charge at both quantities (so tiers stay right).
 */
async function lateUsageLines(
  deps: InvoiceJobDeps,
  c: { state: SubscriptionState; plans: Map<string, PlanVersion>; partnerId: string; period: string; meters: Set<string> },
): Promise<LineItem[]> {
  const prevMonth = monthOf(addMonths(`${c.period}-01`, -1).slice(0, 7));
  const prev = await invoiceById(deps.db, invoiceIdOf(c.partnerId, prevMonth));
  if (!prev?.usage || prev.status === 'void') return [];
  const charged = prev.usage as Record<string, number>;
  const tz = prev.timezone ?? 'UTC';
  const window = { from: startOfDayIn(prevMonth.start, tz), to: startOfDayIn(prevMonth.end, tz) };
  const lines: LineItem[] = [];
  for (const meter of Object.keys(charged)) {
    const nowUsage = await monthlyUsage(deps.db, c.partnerId, meter, window);
    const before = charged[meter] ?? 0;
    if (nowUsage <= before) continue;
    const priced = (q: number) =>
      draftInvoice({ state: c.state, plans: c.plans, month: prevMonth, usage: { ...charged, [meter]: q } })
        .lines.filter((l) => l.kind === 'usage' && l.meter === meter)
        .reduce((t, l) => t + l.amount, 0);
    const amount = priced(nowUsage) - priced(before);
    lines.push({
      kind: 'late_usage',
      description: `Late usage of ${meter} for ${prevMonth.start.slice(0, 7)} (+${nowUsage - before}, arrived after its invoice)`,
      quantity: nowUsage - before,
      unit_amount_decimal: nowUsage - before > 0 ? String(Math.round((amount / (nowUsage - before)) * 1e6) / 1e6) : '0',
      amount,
      period: prevMonth,
      meter,
    });
  }
  return lines;
}

async function monthlyUsage(
  db: Kysely<BillingDB>,
  partnerId: string,
  meterCode: string,
  window: { from: Date; to: Date },
): Promise<number> {
  const found = await findMeter(db, meterCode);
  if (!found) return 0;
  const series = await usageSeries(db, {
    partnerId,
    meter: found.meter as Meter,
    from: new Date(Math.floor(window.from.getTime() / 3_600_000) * 3_600_000),
    to: window.to,
    window: 'month',
    limit: 1000,
  });
  return series.reduce((s, b) => s + b.value, 0);
}
