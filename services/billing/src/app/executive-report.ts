import { defineTemplate } from '@pep/mailer';
import { newId } from '@pep/runtime';
import type { Kysely } from 'kysely';
import type { BillingDB } from '../db/schema.ts';
import { addMonths, type IsoDate } from '../domain/pricing/period.ts';
import { enqueue } from '../projections/invoices/documents.ts';
import { revenueForecast } from './forecast.ts';
import { formatMoney } from './invoice-pdf.ts';

export interface ExecutiveFigures {
  month: string;
  currency: string;
  mrr: number;
  arr: number;
  growth_mrr: number;
  growth_rate: number | null;
  net_revenue_retention: number | null;
  churn_rate: number | null;
  top_partners: { partner_id: string; mrr: number }[];
  failed_payments: number;
  payouts: null;
  forecast_12m: { mrr: number; low: number; high: number } | null;
}

/**
 * The executive report's figures for a month: the same computation as GET /v1/billing/forecast (as of the month's
 * last day), growth against the month before, the top five partners by MRR and the invoices of the month with a
 * failed payment. Payouts are not known to billing yet (null).
 */
export async function executiveFigures(db: Kysely<BillingDB>, month: string): Promise<ExecutiveFigures> {
  const asOf: IsoDate = addMonths(`${month}-01`, 1);
  const lastDay = new Date(Date.parse(`${asOf}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const f = await revenueForecast(db, { asOf: lastDay });
  const prev = f.history.at(-2)?.mrr ?? 0;
  const failed = await db
    .selectFrom('invoices')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('failed_attempts', '>', 0)
    .where('period_start', '=', `${month}-01`)
    .executeTakeFirst();
  const p12 = f.forecast.points.at(-1);
  return {
    month,
    currency: f.currency,
    mrr: f.mrr,
    arr: f.arr,
    growth_mrr: f.mrr - prev,
    growth_rate: prev > 0 ? Math.round(((f.mrr - prev) / prev) * 10_000) / 10_000 : null,
    net_revenue_retention: f.net_revenue_retention,
    churn_rate: f.churn_rate,
    top_partners: f.partners.slice(0, 5).map((p) => ({ partner_id: p.partner_id, mrr: p.mrr })),
    failed_payments: Number(failed?.n ?? 0),
    payouts: null,
    forecast_12m: p12 ? { mrr: p12.mrr, low: p12.low, high: p12.high } : null,
  };
}

/** Puts the month's report in the outbox: `once` (the monthly timer) mails a month at most once across replicas. */
export async function queueExecutiveReport(db: Kysely<BillingDB>, month: string, once: boolean) {
  const figures = await executiveFigures(db, month);
  const id = once ? `executive_report:${month}` : `executive_report:${month}:${newId('rpt')}`;
  await enqueue(db, { id, kind: 'executive_report', partner_id: null, ref: month, payload: figures });
  return { report_id: id, figures };
}

const pct = (r: number | null) => (r === null ? 'n/a' : `${(r * 100).toFixed(1)}%`);
const template = defineTemplate<{ issuer: string; month: string; summary: string; partners: string; partnersHtml: string }>({
  subject: '{{issuer}} executive report {{month}}',
  text: 'Executive report {{month}}\n\n{{summary}}\n\nTop partners by MRR:\n{{partners}}\n',
  html: '<h2>Executive report {{month}}</h2><pre>{{summary}}</pre><h3>Top partners by MRR</h3><pre>{{partnersHtml}}</pre>',
});

export function renderExecutiveReport(f: ExecutiveFigures, issuer: string) {
  const m = (n: number) => formatMoney(n, f.currency);
  const summary = [
    `MRR: ${m(f.mrr)}`,
    `ARR: ${m(f.arr)}`,
    `MRR growth: ${m(f.growth_mrr)} (${pct(f.growth_rate)})`,
    `Net revenue retention (12 months): ${pct(f.net_revenue_retention)}`,
    `Churn (last month): ${pct(f.churn_rate)}`,
    `Failed payments: ${f.failed_payments}`,
    `Payouts: ${f.payouts === null ? 'not known to billing' : String(f.payouts)}`,
    f.forecast_12m ? `MRR in 12 months: ${m(f.forecast_12m.mrr)} (80%: ${m(f.forecast_12m.low)} – ${m(f.forecast_12m.high)})` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const partners = f.top_partners.map((p, i) => `${i + 1}. ${p.partner_id}: ${m(p.mrr)}`).join('\n') || '(none)';
  // The template HTML-escapes every value in the HTML part.
  return template.render({ issuer, month: f.month, summary, partners, partnersHtml: partners });
}
