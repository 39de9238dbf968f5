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
import { INVOICES_PROJECTION, invoiceById } from '../projections/invoices/index.ts';
import { planVersion } from '../projections/plans/index.ts';
import { listSubscriptions, SUBSCRIPTIONS_PROJECTION } from '../projections/subscriptions/index.ts';
import { findMeter, USAGE_PROJECTION, usageSeries } from '../projections/usage/index.ts';
import { inOrder } from './in-order.ts';

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
  const run: RunContext = { deps, month, period, now, closingNow, reads: cachedReads(deps.db) };
  // Drafts are priced and created a few partners at a time; numbers are taken one by one in the list's order (the
  // issuer's numbering subject takes one append at a time anyway), each as soon as its draft exists.
  const drafts = inOrder(await listSubscriptions(deps.db, opts.partnerId), DRAFT_CONCURRENCY, (sub) => createDraft(run, sub.state));
  let lastSeq = 0;
  try {
    for (const pending of drafts.results) {
      const settled = await pending;
      if (!settled.ok) throw settled.err;
      const d = settled.value;
      if (!d) {
        counts.skipped++;
        continue;
      }
      if (d.created) counts.created++;
      const finalized = await deps.commands.execute(
        numberingAggregate,
        deps.settings.INVOICE_ISSUER,
        { partnerId: d.partnerId },
        (s) =>
          decideFinalizeInvoice(
            {
              invoiceId: d.invoiceId,
              partnerId: d.partnerId,
              issuer: deps.settings.INVOICE_ISSUER,
              prefix: deps.settings.INVOICE_NUMBER_PREFIX,
              today,
              dueDays: deps.settings.INVOICE_DUE_DAYS,
              total: d.total,
              currency: d.currency,
            },
            s,
          ),
        { waitProjection: NO_WAIT },
      );
      if (finalized.events.length) counts.finalized++;
      lastSeq = Math.max(lastSeq, d.seq, finalized.version);
    }
  } finally {
    drafts.stop();
  }
  // Read-your-writes once for the whole run, not per command: the invoices read model has every invoice of it.
  if (lastSeq > 0)
    await deps.projections
      .get(INVOICES_PROJECTION)
      ?.waitFor(lastSeq, 60_000)
      .catch((err: unknown) => deps.logger.warn('invoices read model lags behind the invoice run', { period, err }));
  deps.logger.info('invoice run finished', counts);
  return counts;
}

/** How many partners' drafts are priced and created at once. */
const DRAFT_CONCURRENCY = 12;
/** A read model name no runner has: the run's commands skip the per-command wait and the run waits once at its end. */
const NO_WAIT = '';

interface RunContext {
  deps: InvoiceJobDeps;
  month: Period;
  period: string;
  now: Date;
  closingNow: boolean;
  reads: ReturnType<typeof cachedReads>;
}

/** Plan versions and meters read once per run, whatever the number of partners on them. */
function cachedReads(db: Kysely<BillingDB>) {
  const plans = new Map<string, ReturnType<typeof planVersion>>();
  const meters = new Map<string, ReturnType<typeof findMeter>>();
  const once = <T>(m: Map<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> => {
    let p = m.get(key);
    if (!p) {
      p = read();
      m.set(key, p);
      // A failed read is not kept: the partner that needed it fails, the next one reads again.
      p.catch(() => m.delete(key));
    }
    return p;
  };
  return {
    planVersion: (code: string, version: number | undefined) => once(plans, `${code}@${version}`, () => planVersion(db, code, version)),
    findMeter: (code: string) => once(meters, code, () => findMeter(db, code)),
  };
}

/** Prices a partner's month and creates its draft invoice (nothing when it exists); undefined when not due. */
async function createDraft(run: RunContext, state: SubscriptionState) {
  const { deps, month } = run;
  if (!state.id || !state.partner_id || parseDate(state.started_on) >= parseDate(month.end)) return undefined;
  const partnerId = state.partner_id;
  const timezone = await timezoneOf(deps.db, partnerId);
  const window = { from: startOfDayIn(month.start, timezone), to: startOfDayIn(month.end, timezone) };
  if (run.closingNow) {
    if (run.now < window.to) window.to = run.now;
  } else if (window.to > run.now) return undefined;
  const plans = new Map<string, PlanVersion>();
  for (const ref of planRefsOf(state)) {
    const row = await run.reads.planVersion(ref.plan_code, ref.plan_version);
    if (row) plans.set(planKey(ref.plan_code, ref.plan_version), row.plan);
  }
  const meters = new Set<string>();
  for (const p of plans.values()) if (p.model === 'usage_based' || p.model === 'hybrid') for (const c of p.charges) meters.add(c.meter);
  const usage: Record<string, number> = {};
  for (const m of meters) usage[m] = await monthlyUsage(run, partnerId, m, window);
  const draft = draftInvoice({ state, plans, month, usage });
  const late = await lateUsageLines(run, { state, plans, partnerId, meters });
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
    { assumeNew: true, waitProjection: NO_WAIT },
  );
  return {
    partnerId,
    invoiceId,
    created: created.events.length > 0,
    total: created.state.total ?? total,
    currency: draft.currency,
    seq: created.version,
  };
}

/**
 * Usage of the previous month that arrived after its invoice: the usage of that month now minus what its invoice
 * charged, priced as the difference of the month's charge at both quantities (so tiers stay right).
 */
async function lateUsageLines(
  run: RunContext,
  c: { state: SubscriptionState; plans: Map<string, PlanVersion>; partnerId: string; meters: Set<string> },
): Promise<LineItem[]> {
  const prevMonth = monthOf(addMonths(`${run.period}-01`, -1).slice(0, 7));
  const prev = await invoiceById(run.deps.db, invoiceIdOf(c.partnerId, prevMonth));
  if (!prev?.usage || prev.status === 'void') return [];
  const charged = prev.usage as Record<string, number>;
  const tz = prev.timezone ?? 'UTC';
  const window = { from: startOfDayIn(prevMonth.start, tz), to: startOfDayIn(prevMonth.end, tz) };
  const lines: LineItem[] = [];
  for (const meter of Object.keys(charged)) {
    const nowUsage = await monthlyUsage(run, c.partnerId, meter, window);
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

async function monthlyUsage(run: RunContext, partnerId: string, meterCode: string, window: { from: Date; to: Date }): Promise<number> {
  const found = await run.reads.findMeter(meterCode);
  if (!found) return 0;
  const series = await usageSeries(run.deps.db, {
    partnerId,
    meter: found.meter as Meter,
    from: new Date(Math.floor(window.from.getTime() / 3_600_000) * 3_600_000),
    to: window.to,
    window: 'month',
    limit: 1000,
  });
  return series.reduce((s, b) => s + b.value, 0);
}
