import type { StoredEvent } from '@pep/contracts';
import { aggregateFilter, type Projection } from '@pep/events';
import { type Kysely, type Selectable, sql } from 'kysely';
import type { BillingDB } from '../../db/schema.ts';
import { INVOICES_PROJECTION } from '../../domain/invoice/invoice.ts';
import { applyInvoiceDocuments, creditNoteView } from './documents.ts';

export { INVOICES_PROJECTION };
export const INVOICE_EVENT_TYPES = [
  'billing.invoice_created',
  'billing.invoice_finalized',
  'billing.invoice_voided',
  'billing.invoice_marked_uncollectible',
  'billing.invoice_paid',
  'billing.invoice_payment_failed',
  'billing.credit_note_issued',
] as const;

interface Created {
  invoice_id: string;
  partner_id: string;
  subscription_id: string;
  period: { start: string; end: string };
  currency: string;
  lines: unknown[];
  total: number;
  usage?: Record<string, number>;
  timezone?: string;
}
interface Finalized {
  invoice_id: string;
  number: string;
  sequence: number;
  due_date: string;
  issuer: string;
}

/** Invoices (created on the invoice's subject, numbered on the issuer's): every domain subject is read. */
export function invoicesProjection(prefix: string): Projection<BillingDB> {
  return {
    name: INVOICES_PROJECTION,
    filterSubject: aggregateFilter(prefix),
    async apply(trx, events: StoredEvent[]) {
      for (const e of events) {
        await applyInvoiceDocuments(trx, e);
        if (e.type === 'billing.invoice_created') {
          const d = e.data as Created;
          await trx
            .insertInto('invoices')
            .values({
              id: d.invoice_id,
              partner_id: d.partner_id,
              subscription_id: d.subscription_id,
              period_start: d.period.start,
              period_end: d.period.end,
              currency: d.currency,
              total: String(d.total),
              lines: JSON.stringify(d.lines),
              status: 'draft',
              number: null,
              issuer: null,
              sequence: null,
              due_date: null,
              created_at: e.time,
              seq: e.seq,
              usage: d.usage ? JSON.stringify(d.usage) : null,
              timezone: d.timezone ?? null,
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .execute();
        } else if (e.type === 'billing.invoice_finalized') {
          const d = e.data as Finalized;
          // A draft voided before it got its number keeps the number but stays void.
          await trx
            .updateTable('invoices')
            .set({
              status: sql<'open'>`case when status = 'draft' then 'open' else status end`,
              number: d.number,
              issuer: d.issuer,
              sequence: d.sequence,
              due_date: d.due_date,
            })
            .where('id', '=', d.invoice_id)
            .execute();
        } else if (e.type === 'billing.invoice_paid') {
          const d = e.data as { invoice_id: string; amount: number; payment_ref: string; paid_at: string };
          await trx
            .updateTable('invoices')
            .set((eb) => ({
              status: 'paid',
              amount_paid: sql<string>`${eb.ref('amount_paid')} + ${d.amount}`,
              paid_at: d.paid_at,
              payment_ref: d.payment_ref,
              next_retry_at: null,
            }))
            .where('id', '=', d.invoice_id)
            .execute();
        } else if (e.type === 'billing.invoice_payment_failed') {
          const d = e.data as { invoice_id: string; attempt: number; next_retry_at?: string };
          await trx
            .updateTable('invoices')
            .set((eb) => ({
              failed_attempts: sql<number>`greatest(${eb.ref('failed_attempts')}, ${d.attempt})`,
              next_retry_at: d.next_retry_at ?? null,
            }))
            .where('id', '=', d.invoice_id)
            .execute();
        } else if (e.type === 'billing.invoice_voided' || e.type === 'billing.invoice_marked_uncollectible') {
          await trx
            .updateTable('invoices')
            .set({ status: e.type === 'billing.invoice_voided' ? 'void' : 'uncollectible' })
            .where('id', '=', (e.data as { invoice_id: string }).invoice_id)
            .execute();
        }
      }
    },
    async reset(trx) {
      await trx.deleteFrom('credit_notes').execute();
      await trx.deleteFrom('invoices').execute();
    },
  };
}

type Row = Selectable<BillingDB['invoices']>;
export function invoiceView(r: Row, notes: BillingDB['credit_notes'][] = []) {
  return {
    object: 'invoice' as const,
    id: r.id,
    partner_id: r.partner_id,
    number: r.number,
    status: r.status,
    currency: r.currency,
    total: Number(r.total),
    period: { start: r.period_start, end: r.period_end },
    due_date: r.due_date,
    credited: Number(r.credited ?? 0),
    amount_paid: Number(r.amount_paid ?? 0),
    amount_due:
      r.status === 'open' || r.status === 'draft' ? Math.max(0, Number(r.total) - Number(r.credited ?? 0) - Number(r.amount_paid ?? 0)) : 0,
    timezone: r.timezone ?? 'UTC',
    credit_notes: notes.map(creditNoteView),
    paid_at: r.paid_at ?? null,
    payment_ref: r.payment_ref ?? null,
    failed_attempts: Number(r.failed_attempts ?? 0),
    next_retry_at: r.next_retry_at ?? null,
    lines: r.lines,
    created_at: r.created_at,
  };
}

export async function invoiceById(db: Kysely<BillingDB>, id: string) {
  return db.selectFrom('invoices').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listInvoices(
  db: Kysely<BillingDB>,
  f: { partnerId: string | undefined; limit: number; startingAfter?: { period_start: string; id: string } },
) {
  let q = db
    .selectFrom('invoices')
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
